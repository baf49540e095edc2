"""Compute the reference vectors the Rust embedder is tested against.

Runs sentence-transformers (PyTorch, CPU) on the same local model folder the
Rust code loads, over ~40 deliberately varied sentences, and writes
crates/switchboard-engine/tests/fixtures/minilm_reference.json.

Usage (bench/embedding/make-reference does all of this):
    HF_HUB_OFFLINE=1 python make_reference.py MODEL_DIR OUT_JSON
"""

import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import sentence_transformers  # noqa: E402
import torch  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402

LONG_POLICY = (
    "Returns and refunds policy. You may return most new, unopened items within 30 days of "
    "delivery for a full refund. We'll also pay the return shipping costs if the return is a "
    "result of our error (you received an incorrect or defective item, etc.). You should expect "
    "to receive your refund within four weeks of giving your package to the return shipper, "
    "however, in many cases you will receive a refund more quickly. This time period includes "
    "the transit time for us to receive your return from the shipper (5 to 10 business days), "
    "the time it takes us to process your return once we receive it (3 to 5 business days), and "
    "the time it takes your bank to process our refund request (5 to 10 business days). If you "
    "need to return an item, simply login to your account, view the order using the 'Complete "
    "Orders' link under the My Account menu and click the Return Item(s) button. We'll notify "
    "you via e-mail of your refund once we've received and processed the returned item. "
)

SENTENCES = [
    # Short support questions.
    "Where is my order?",
    "How do I reset my password?",
    "Can I change the delivery address after checkout?",
    "I want to talk to a human.",
    "refund",
    "Hi",
    "Thanks, that solved it!",
    "My card was charged twice for order #48213, please help.",
    "Do you ship to Canada and what are the customs fees?",
    "The app crashes when I open the settings page on Android 14.",
    # Punctuation, casing, symbols, numbers, code, URLs, emoji.
    "WHY IS MY ACCOUNT LOCKED???",
    "!!!",
    "... --- ...",
    "Price: $1,299.99 (incl. 20% VAT) -> 1.083,32 EUR?",
    "Error 0x80070005: access denied (see https://example.com/help?id=42&lang=en).",
    "fn main() { println!(\"hello\"); } // does your API support Rust?",
    "user@example.com cannot log in; tried 3x, cleared cookies, still 403.",
    "Great service 👍🎉 but the parcel arrived damaged 😞",
    "tab\tseparated\tvalues and\nnew lines\n\nin the middle",
    "C'est très-bien: naïve café façade résumé coöperate",
    # Non-English.
    "Où est ma commande ? Elle devait arriver hier.",
    "Wie kann ich mein Abonnement kündigen?",
    "¿Cuánto tarda el reembolso en llegar a mi tarjeta?",
    "Il prodotto è arrivato rotto, vorrei un rimborso.",
    "Как изменить адрес доставки?",
    "我的订单什么时候发货？",
    "注文をキャンセルしたいです。",
    "كيف يمكنني تتبع طلبي؟",
    "배송 상태를 확인하고 싶어요",
    "Γεια σας, χρειάζομαι βοήθεια με τον λογαριασμό μου.",
    # Empty-ish.
    "",
    " ",
    "   \n\t  ",
    "?",
    "a",
    # Long: around 128 tokens (tokenizer.json's own limit), beyond 256 (cut), far beyond.
    LONG_POLICY,
    LONG_POLICY * 2,
    LONG_POLICY * 6,
    " ".join(f"word{i}" for i in range(400)),
    "Our premium plan includes priority support, single sign-on, audit logs, unlimited seats, "
    "a dedicated success manager, custom data retention and a 99.9% uptime SLA; the standard "
    "plan includes email support and up to 25 seats.",
]


def main() -> None:
    model_dir, out_path = sys.argv[1], sys.argv[2]
    model = SentenceTransformer(model_dir, device="cpu")
    if model.max_seq_length != 256:
        sys.exit(f"expected max_seq_length 256, the model folder says {model.max_seq_length}")
    vectors = model.encode(SENTENCES, batch_size=32, convert_to_numpy=True)
    items = [
        {"text": text, "vector": [float(f"{x:.7g}") for x in vec.tolist()]}
        for text, vec in zip(SENTENCES, vectors)
    ]
    doc = {
        "model": os.path.basename(os.path.normpath(model_dir)),
        "dimension": int(vectors.shape[1]),
        "generator": "bench/embedding/make_reference.py",
        "sentence_transformers": sentence_transformers.__version__,
        "torch": torch.__version__,
        "items": items,
    }
    # One item per line: readable diffs when the fixture is regenerated.
    head = {k: v for k, v in doc.items() if k != "items"}
    lines = [json.dumps(item, ensure_ascii=False) for item in items]
    with open(out_path, "w", encoding="utf-8") as f:
        f.write(json.dumps(head, ensure_ascii=False)[:-1])
        f.write(', "items": [\n' + ",\n".join(lines) + "\n]}\n")
    print(f"wrote {len(items)} reference vectors to {out_path}")


if __name__ == "__main__":
    main()
