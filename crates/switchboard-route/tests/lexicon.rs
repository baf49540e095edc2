//! The cross-language support lexicon: questions in the five other languages
//! come out as the English words that English knowledge is written in.

use switchboard_route::to_english;

/// Each English word in `want` is in the translation of `text` (as a word).
fn check(cases: &[(&str, &str, &str)]) {
    let mut wrong = Vec::new();
    for (lang, text, want) in cases {
        let got = to_english(text, lang).expect("a lexicon").text;
        let words: Vec<String> = got.to_lowercase().split_whitespace().map(str::to_owned).collect();
        let missing: Vec<&str> =
            want.split_whitespace().filter(|w| !words.iter().any(|g| g == &w.to_lowercase())).collect();
        if !missing.is_empty() {
            wrong.push(format!("[{lang}] {text} -> `{got}`, missing {missing:?}"));
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

#[test]
fn support_questions_come_out_in_english_words() {
    check(&[
        ("de", "Wann kommt mein Paket an?", "when parcel"),
        ("de", "Kann ich meine Rechnung herunterladen?", "invoice"),
        ("de", "Ich habe mein Passwort vergessen", "password forgot"),
        ("es", "¿Puedo cambiar la dirección de entrega?", "change delivery address"),
        ("es", "Mi paquete llegó dañado", "parcel damaged"),
        ("es", "¿Dónde está la tienda más cercana?", "where store"),
        ("fr", "Puis-je annuler ma commande ?", "cancel order"),
        ("fr", "Ma carte a été débitée deux fois", "card charged twice"),
        ("fr", "Quels sont les frais de douane pour la Suisse ?", "customs switzerland"),
        ("it", "Posso pagare a rate?", "pay instalments"),
        ("it", "Il mio ordine è in ritardo", "order delayed"),
        ("it", "Come posso reimpostare la password del mio account?", "reset password account"),
        ("nl", "Wanneer wordt mijn bestelling bezorgd?", "when order delivered"),
        ("nl", "Kan ik mijn jas ruilen voor een andere maat?", "jacket exchange size"),
        ("nl", "Mijn account is geblokkeerd", "account locked"),
    ]);
}

#[test]
fn question_words_say_what_kind_of_fact_is_asked_for() {
    // The answerer reads "how long" as a duration question and "how much" as an amount one.
    check(&[
        ("de", "Wie lange dauert eine Reparatur?", "how long repair"),
        ("de", "Wie viel kostet Expressversand?", "how much cost express shipping"),
        ("es", "¿Cuánto tiempo tarda el reembolso?", "how long refund"),
        ("es", "¿Cuánto cuesta una tarjeta regalo?", "how much cost gift card"),
        ("fr", "Combien de temps dure la livraison ?", "how long delivery"),
        ("fr", "Combien coûte le retour ?", "how much cost return"),
        ("it", "Quanto tempo ci vuole per la consegna?", "how long delivery"),
        ("it", "Quanto costa la spedizione espressa?", "how much cost shipping express"),
        ("nl", "Hoe lang duurt de levering?", "how long delivery"),
        ("nl", "Wat kost verzending naar België?", "how much cost shipping belgium"),
    ]);
}

#[test]
fn plurals_phrases_and_compounds_are_found() {
    check(&[
        // Plural of a listed singular.
        ("es", "¿Aceptan tarjetas de crédito?", "accept card"),
        ("it", "Le garanzie coprono le cerniere?", "warranty zip"),
        // Endings on listed words: a plural, a past participle.
        ("de", "Gibt es eine Garantie auf Reißverschlüsse?", "warranty zip"),
        ("de", "Wurde meine Bestellung schon versendet?", "order ship"),
        // A phrase beats its words.
        ("fr", "Avez-vous des cartes cadeaux ?", "gift card"),
        ("es", "¿Hacen envíos a Estados Unidos?", "united states"),
        // Compounds split into listed parts.
        ("de", "Habt ihr eine Kinderjacke in Größe 140?", "jacket size 140"),
        ("de", "Was sind die Rücksendekosten nach Österreich?", "cost austria"),
        ("de", "Wie hoch ist der Gutscheinbetrag?", "voucher amount"),
        ("nl", "Waar lever ik mijn retourpakket in?", "return parcel"),
        ("nl", "Wat zijn de verzendkosten voor tenten?", "shipping cost tents"),
    ]);
}

#[test]
fn names_and_codes_are_searched_and_unknown_words_only_asked() {
    let got = to_english("¿Aceptan PayPal en la tienda de Madrid?", "es").unwrap();
    assert!(got.expanded.contains("PayPal") && got.expanded.contains("Madrid"), "{}", got.expanded);
    assert!(!got.text.contains(" en ") && !got.text.contains(" la "), "function words go: {}", got.text);
    // What the lexicon does not know stays in the question (the answerer is less
    // sure of an answer that misses it) but is not searched.
    let climbing = to_english("Organisez-vous des sorties escalade ?", "fr").unwrap();
    assert!(climbing.text.contains("escalade"), "{climbing:?}");
    assert!(!climbing.expanded.contains("escalade"), "{climbing:?}");
    let code = to_english("Funktioniert der Code SUMMER25 noch?", "de").unwrap();
    assert!(code.text.contains("SUMMER25") && code.text.contains("code"), "{}", code.text);
    let ideal = to_english("Kan ik met iDEAL betalen?", "nl").unwrap();
    assert!(ideal.text.contains("iDEAL") && ideal.text.contains("pay"), "{}", ideal.text);
    assert!(ideal.known >= 3 && ideal.words == 5, "{ideal:?}");
}

#[test]
fn other_senses_widen_the_search_but_not_the_question() {
    let got = to_english("¿Dónde está la tienda?", "es").unwrap();
    assert_eq!(got.text, "where store");
    assert_eq!(got.expanded, "where store shop");
    // A compound's parts: first senses together, the others after.
    let compound = to_english("Wo ist das nächste Schuhgeschäft?", "de").unwrap();
    assert_eq!(
        (compound.text.as_str(), compound.expanded.as_str()),
        ("where nächste shoe store", "where shoe store shop")
    );
}

#[test]
fn a_misdetected_question_is_told_by_its_low_coverage() {
    // English taken for German: the lexicon knows one word of it.
    let english = to_english("When was Tarnfield founded?", "de").unwrap();
    assert!(english.coverage() < 0.5, "{english:?}");
    let german = to_english("Wann wurde die Firma gegründet?", "de").unwrap();
    assert!(german.coverage() >= 0.5, "{german:?}");
}

#[test]
fn english_and_unknown_languages_have_no_lexicon() {
    assert!(to_english("How long do returns take?", "en").is_none());
    assert!(to_english("Hvor lang tid tager levering?", "da").is_none());
}
