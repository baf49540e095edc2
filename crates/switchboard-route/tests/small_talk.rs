//! Small talk: what is answered from templates, and what must go on to retrieval.

use switchboard_route::{LANGUAGES, SmallTalk, small_talk};

use SmallTalk::*;

const POSITIVE: &[(&str, &str, SmallTalk)] = &[
    ("en", "Hello!", Greeting),
    ("en", "hi there", Greeting),
    ("en", "Good morning", Greeting),
    ("en", "hey", Greeting),
    ("en", "Thanks a lot!", Thanks),
    ("en", "thank you so much", Thanks),
    ("en", "ok thanks", Thanks),
    ("en", "Bye!", Goodbye),
    ("en", "have a nice day", Goodbye),
    ("en", "How are you?", HowAreYou),
    ("en", "Are you a bot?", AreYouABot),
    ("en", "are you a real person?", AreYouABot),
    ("de", "Hallo", Greeting),
    ("de", "Guten Tag!", Greeting),
    ("de", "Vielen Dank!", Thanks),
    ("de", "danke schön", Thanks),
    ("de", "Tschüss", Goodbye),
    ("de", "Auf Wiedersehen", Goodbye),
    ("de", "Wie geht's?", HowAreYou),
    ("de", "Bist du ein Bot?", AreYouABot),
    ("es", "¡Hola!", Greeting),
    ("es", "Buenos días", Greeting),
    ("es", "Muchas gracias", Thanks),
    ("es", "Adiós", Goodbye),
    ("es", "¿Cómo estás?", HowAreYou),
    ("es", "¿Eres un bot?", AreYouABot),
    ("fr", "Bonjour", Greeting),
    ("fr", "Salut !", Greeting),
    ("fr", "Merci beaucoup", Thanks),
    ("fr", "Au revoir", Goodbye),
    ("fr", "Comment ça va ?", HowAreYou),
    ("fr", "Tu es un robot ?", AreYouABot),
    ("it", "Ciao!", Greeting),
    ("it", "Buongiorno", Greeting),
    ("it", "Grazie mille", Thanks),
    ("it", "Arrivederci", Goodbye),
    ("it", "Come stai?", HowAreYou),
    ("it", "Sei un bot?", AreYouABot),
    ("nl", "Hoi", Greeting),
    ("nl", "Goedemorgen", Greeting),
    ("nl", "Dank je wel!", Thanks),
    ("nl", "Tot ziens", Goodbye),
    ("nl", "Hoe gaat het?", HowAreYou),
    ("nl", "Ben je een bot?", AreYouABot),
];

const NEGATIVE: &[(&str, &str)] = &[
    ("en", "hi, where is my order?"),
    ("en", "Hello, I want to return my shoes"),
    ("en", "thanks, but how do I return it?"),
    ("en", "How long do returns take?"),
    ("en", "How are you handling my refund?"),
    ("en", "Thank you for nothing, my parcel is lost"),
    ("en", "bye bye money, the package never came"),
    ("en", "hey can you check order 1234"),
    ("de", "Hallo, wo ist meine Bestellung?"),
    ("de", "Danke, aber wie kann ich das zurückschicken?"),
    ("de", "Wie geht das mit der Rücksendung?"),
    ("es", "Hola, ¿dónde está mi pedido?"),
    ("es", "Gracias, pero ¿cómo lo devuelvo?"),
    ("fr", "Bonjour, où est ma commande ?"),
    ("fr", "Merci, mais comment faire un retour ?"),
    ("it", "Ciao, dov'è il mio ordine?"),
    ("it", "Grazie, ma come faccio il reso?"),
    ("nl", "Hallo, waar is mijn bestelling?"),
    ("nl", "Bedankt, maar hoe stuur ik het terug?"),
    ("nl", "Hoe gaat het retourneren in zijn werk?"),
];

#[test]
fn small_talk_is_recognised_in_six_languages() {
    let mut wrong = Vec::new();
    for (lang, text, kind) in POSITIVE {
        let got = small_talk(text, lang);
        if got != Some(*kind) {
            wrong.push(format!("[{lang}] {text}: {got:?}, expected {kind:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_greeting_or_thanks_with_a_question_is_not_small_talk() {
    let wrong: Vec<String> = NEGATIVE
        .iter()
        .filter_map(|(lang, text)| small_talk(text, lang).map(|k| format!("[{lang}] {text}: {k:?}")))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_reply_exists_in_every_language_and_differs_from_english() {
    for kind in [Greeting, Thanks, Goodbye, HowAreYou, AreYouABot] {
        for lang in LANGUAGES {
            assert!(!kind.reply(lang).is_empty());
            if lang != "en" {
                assert_ne!(kind.reply(lang), kind.reply("en"), "{kind:?} {lang}");
            }
        }
        assert_eq!(kind.reply("pt"), kind.reply("en"), "unknown languages get English");
    }
}
