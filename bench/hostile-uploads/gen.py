"""Writes the hostile files of RELIABILITY U1/U2 (and one ordinary PDF) into the folder given.

Built independently of the Rust test builders on purpose: Python's zipfile and zlib, and a PDF
written by hand, so the parsers meet files no Rust writer of ours produced.
"""
import io
import os
import struct
import sys
import zipfile
import zlib

CT = b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"

def docx_bytes(parts, level=9):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as z:
        for name, data in parts:
            if callable(data):
                with z.open(name, "w", force_zip64=True) as f:
                    data(f)
            else:
                z.writestr(name, data)
    return b.getvalue()

def zeros(n):
    def w(f):
        chunk = b"\0" * (1 << 20)
        for _ in range(n):
            f.write(chunk)
    return w

def doc(body):
    return f'<?xml version="1.0"?><w:document xmlns:w="{W}"><w:body>{body}</w:body></w:document>'.encode()

files = {}
files["honest-bomb.docx"] = docx_bytes([("[Content_Types].xml", CT), ("word/document.xml", zeros(1024))])
lying = bytearray(docx_bytes([("word/document.xml", zeros(64))], level=6))
for sig, off in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
    at = lying.find(sig) + off
    lying[at:at+4] = struct.pack("<I", 100)
files["lying-directory.docx"] = bytes(lying)
files["10k-entries.docx"] = docx_bytes([("word/document.xml", doc("<w:p><w:r><w:t>x</w:t></w:r></w:p>"))] + [(f"word/media/{i}.xml", b"x") for i in range(10000)])
files["nested.docx"] = docx_bytes([("word/document.xml", docx_bytes([("word/document.xml", doc(""))]))])
dtd = '<!ENTITY lol0 "lol">' + "".join(f'<!ENTITY lol{i} "{("&lol%d;" % (i-1)) * 10}">' for i in range(1, 10))
files["billion-laughs.docx"] = docx_bytes([("word/document.xml", f'<?xml version="1.0"?><!DOCTYPE l [{dtd}]><w:document xmlns:w="{W}"><w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>'.encode())])
files["xxe.docx"] = docx_bytes([("word/document.xml", f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><w:document xmlns:w="{W}"><w:body><w:p><w:r><w:t>&x;</w:t></w:r></w:p></w:body></w:document>'.encode())])

def pdf(objects, root):
    out = bytearray(b"%PDF-1.5\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects)+1}\n0000000000 65535 f \n".encode()
    for o in offsets:
        out += f"{o:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects)+1} /Root {root} 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)

stream = zlib.compress(b" " * (4 << 20), 9)
contents = " ".join(["4 0 R"] * 1024)
files["pdf-inflation-bomb.pdf"] = pdf([
    b"<< /Type /Catalog /Pages 2 0 R >>",
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 595 842] >>",
    f"<< /Type /Page /Parent 2 0 R /Resources << >> /Contents [{contents}] >>".encode(),
    f"<< /Length {len(stream)} /Filter /FlateDecode >>\nstream\n".encode() + stream + b"\nendstream",
], 1)
text = b"BT /F1 11 Tf 72 750 Td (Ordinary page text about refunds.) Tj ET"
files["ordinary.pdf"] = pdf([
    b"<< /Type /Catalog /Pages 2 0 R >>",
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 595 842] >>",
    b"<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
    f"<< /Length {len(text)} >>\nstream\n".encode() + text + b"\nendstream",
    b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
], 1)
out_dir = sys.argv[1]
for name, data in files.items():
    with open(os.path.join(out_dir, name), "wb") as f:
        f.write(data)
