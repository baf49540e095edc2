//! Language detection on short support messages, where statistics alone guess.

use switchboard_route::{detect, detect_language};

#[test]
fn short_messages_get_their_language() {
    let cases = [
        ("I want to talk to a person", "en"),
        ("How long do returns take?", "en"),
        ("Where is my order?", "en"),
        ("Ich möchte bitte mit einem Menschen sprechen", "de"),
        ("Wo ist meine Bestellung?", "de"),
        ("Wie lange dauert der Versand nach Österreich?", "de"),
        ("Quiero hablar con una persona", "es"),
        ("¿Dónde está mi pedido?", "es"),
        ("¿Cuánto cuesta el envío a Canarias?", "es"),
        ("Je veux parler à un humain", "fr"),
        ("Où est ma commande ?", "fr"),
        ("Combien coûte la livraison en Belgique ?", "fr"),
        ("Voglio parlare con un operatore", "it"),
        ("Dov'è il mio ordine?", "it"),
        ("Quanto costa la spedizione in Svizzera?", "it"),
        ("Ik wil graag met een medewerker spreken", "nl"),
        ("Waar is mijn bestelling?", "nl"),
        ("Hoeveel kost de verzending naar België?", "nl"),
    ];
    let wrong: Vec<String> = cases
        .iter()
        .filter_map(|(text, lang)| {
            let got = detect_language(text, "xx");
            (got != *lang).then(|| format!("{text}: {got}, expected {lang}"))
        })
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn long_texts_use_statistics_with_high_confidence() {
    let text = "Guten Tag, ich habe letzte Woche eine Jacke bestellt, aber sie ist bis heute nicht angekommen. \
                Können Sie mir bitte sagen, wo sich mein Paket gerade befindet?";
    let lang = detect(text, "en");
    assert_eq!(lang.code, "de");
    assert!(lang.confidence > 0.5, "{lang:?}");
}

#[test]
fn texts_too_short_or_empty_fall_back() {
    for text in ["ok", "", "?!", "12345", "👍"] {
        let lang = detect(text, "de");
        assert_eq!(lang.code, "de", "{text:?}");
        assert_eq!(lang.confidence, 0.0, "{text:?}");
    }
}
