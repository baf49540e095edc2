//! Greetings, thanks, goodbyes, "how are you" and "are you a bot", answered without retrieval.

use crate::fold;

/// Kinds of small talk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmallTalk {
    Greeting,
    Thanks,
    Goodbye,
    HowAreYou,
    AreYouABot,
}

const SMALL_TALK: &[(SmallTalk, &[&str])] = &[
    (
        SmallTalk::Greeting,
        &[
            "hi",
            "hello",
            "hey",
            "hiya",
            "good morning",
            "good afternoon",
            "good evening",
            "hallo",
            "guten tag",
            "guten morgen",
            "moin",
            "servus",
            "hola",
            "buenos dias",
            "buenas tardes",
            "buenas",
            "bonjour",
            "salut",
            "bonsoir",
            "ciao",
            "buongiorno",
            "buonasera",
            "salve",
            "goedemorgen",
            "goedemiddag",
            "hoi",
            "dag",
            "hallo daar",
            "hi there",
            "hello there",
        ],
    ),
    (
        SmallTalk::Thanks,
        &[
            "thanks",
            "thank you",
            "thank you very much",
            "thanks a lot",
            "many thanks",
            "thx",
            "ty",
            "cheers",
            "danke",
            "danke schon",
            "vielen dank",
            "gracias",
            "muchas gracias",
            "merci",
            "merci beaucoup",
            "grazie",
            "grazie mille",
            "dank je",
            "dank u",
            "bedankt",
            "dank je wel",
            "dank u wel",
            "great thanks",
            "ok thanks",
            "perfect thanks",
            "super danke",
        ],
    ),
    (
        SmallTalk::Goodbye,
        &[
            "bye",
            "goodbye",
            "bye bye",
            "see you",
            "have a nice day",
            "tschuss",
            "auf wiedersehen",
            "adios",
            "hasta luego",
            "au revoir",
            "a bientot",
            "arrivederci",
            "tot ziens",
            "doei",
            "dag dag",
            "fijne dag",
            "fijne dag nog",
            "nog een fijne dag",
            "einen schonen tag",
            "schonen tag noch",
            "que tenga un buen dia",
            "buen dia",
            "bonne journee",
            "buona giornata",
        ],
    ),
    (
        SmallTalk::HowAreYou,
        &[
            "how are you",
            "how are you doing",
            "how s it going",
            "wie geht s",
            "wie geht es dir",
            "wie geht es ihnen",
            "que tal",
            "como estas",
            "ca va",
            "comment ca va",
            "comment allez vous",
            "come stai",
            "come va",
            "hoe gaat het",
            "hoe is het",
        ],
    ),
    (
        SmallTalk::AreYouABot,
        &[
            "are you a bot",
            "are you a robot",
            "are you human",
            "are you a real person",
            "are you an ai",
            "bist du ein bot",
            "bist du ein mensch",
            "eres un bot",
            "eres humano",
            "es tu un robot",
            "tu es un robot",
            "sei un bot",
            "sei umano",
            "ben je een bot",
            "ben je een mens",
        ],
    ),
];

/// Words that may surround small talk without making it a question.
const FILLER: &[&str] = &[
    "",
    "again",
    "so much",
    "very much",
    "a lot",
    "all",
    "there",
    "everyone",
    "team",
    "folks",
    "guys",
    "bot",
    "ok",
    "okay",
    "great",
    "perfect",
    "super",
    "nice",
    "that was helpful",
    "that was really helpful",
    "that was very helpful",
    "that helped",
    "very helpful",
    "really helpful",
    "das hat geholfen",
    "sehr hilfreich",
    "muy util",
    "tres utile",
    "molto utile",
    "heel fijn",
];

/// Is the whole message small talk? A greeting followed by a question is not.
pub fn small_talk(text: &str, _lang: &str) -> Option<SmallTalk> {
    let folded = fold(text);
    let trimmed = folded.trim();
    if trimmed.is_empty() || trimmed.split(' ').count() > 8 {
        return None;
    }
    for (kind, phrases) in SMALL_TALK {
        for p in *phrases {
            if let Some(rest) = trimmed.strip_prefix(p)
                && (rest.is_empty() || rest.starts_with(' '))
            {
                let rest = rest.trim();
                if FILLER.contains(&rest) || SMALL_TALK.iter().any(|(_, ps)| ps.contains(&rest)) {
                    return Some(*kind);
                }
            }
        }
    }
    None
}

impl SmallTalk {
    /// The assistant's reply in `lang` (English when not one of [`LANGUAGES`](crate::LANGUAGES)).
    pub fn reply(self, lang: &str) -> &'static str {
        use SmallTalk::*;
        match (self, lang) {
            (Greeting, "de") => "Hallo! Wie kann ich Ihnen helfen?",
            (Greeting, "es") => "¡Hola! ¿En qué puedo ayudarle?",
            (Greeting, "fr") => "Bonjour ! Comment puis-je vous aider ?",
            (Greeting, "it") => "Ciao! Come posso aiutarla?",
            (Greeting, "nl") => "Hallo! Waarmee kan ik u helpen?",
            (Greeting, _) => "Hello! How can I help you today?",
            (Thanks, "de") => "Gern geschehen! Kann ich sonst noch helfen?",
            (Thanks, "es") => "¡De nada! ¿Puedo ayudarle en algo más?",
            (Thanks, "fr") => "Avec plaisir ! Puis-je vous aider pour autre chose ?",
            (Thanks, "it") => "Prego! Posso aiutarla in altro?",
            (Thanks, "nl") => "Graag gedaan! Kan ik u ergens anders mee helpen?",
            (Thanks, _) => "You're welcome! Is there anything else I can help with?",
            (Goodbye, "de") => "Auf Wiedersehen und einen schönen Tag!",
            (Goodbye, "es") => "¡Hasta luego, que tenga un buen día!",
            (Goodbye, "fr") => "Au revoir et bonne journée !",
            (Goodbye, "it") => "Arrivederci e buona giornata!",
            (Goodbye, "nl") => "Tot ziens en een fijne dag!",
            (Goodbye, _) => "Goodbye, and have a great day!",
            (HowAreYou, "de") => "Danke, mir geht es gut! Wie kann ich Ihnen helfen?",
            (HowAreYou, "es") => "¡Muy bien, gracias! ¿En qué puedo ayudarle?",
            (HowAreYou, "fr") => "Très bien, merci ! Comment puis-je vous aider ?",
            (HowAreYou, "it") => "Bene, grazie! Come posso aiutarla?",
            (HowAreYou, "nl") => "Goed, dank u! Waarmee kan ik u helpen?",
            (HowAreYou, _) => "I'm doing well, thanks! How can I help you?",
            (AreYouABot, "de") => {
                "Ich bin ein KI-Assistent. Ich beantworte Fragen aus unseren Hilfeartikeln und verbinde Sie jederzeit mit einer Person aus unserem Team."
            }
            (AreYouABot, "es") => {
                "Soy un asistente de IA. Respondo con nuestros artículos de ayuda y puedo ponerle en contacto con una persona de nuestro equipo cuando quiera."
            }
            (AreYouABot, "fr") => {
                "Je suis un assistant IA. Je réponds à partir de nos articles d'aide et je peux vous mettre en relation avec une personne de notre équipe à tout moment."
            }
            (AreYouABot, "it") => {
                "Sono un assistente IA. Rispondo con i nostri articoli di assistenza e posso metterla in contatto con una persona del nostro team quando vuole."
            }
            (AreYouABot, "nl") => {
                "Ik ben een AI-assistent. Ik antwoord op basis van onze helpartikelen en kan u altijd doorverbinden met een medewerker."
            }
            (AreYouABot, _) => {
                "I'm an AI assistant. I answer from our help articles, and I can connect you with a person from our team at any time."
            }
        }
    }
}
