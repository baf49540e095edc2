//! "Wants a human": tables of requests for a person (must be caught) and of messages that merely
//! mention people, agents or service (must not be), per language, typos included.

use switchboard_route::wants_human;

const POSITIVE: &[(&str, &[&str])] = &[
    (
        "en",
        &[
            "I want to talk to a person",
            "Can I speak to a human please?",
            "connect me with a live agent",
            "agent please",
            "Human!",
            "real human",
            "I need a real person, this bot is useless",
            "let me talk to someone from your team",
            "Is there a human I can talk to?",
            "can i talk to a real person",
            "transfer me to customer service",
            "I'd like to speak with a representative",
            "get me an operator",
            "speak to human",
            "I want to speak to a manager",
            "put me through to a person",
            "can you connect me to a human agent?",
            "i want to tlak to a humna",
            "talk to a persn please",
            "REPRESENTATIVE",
            "I would like to chat with a real person",
            "escalate this to a human",
            "no more bot, human please",
        ],
    ),
    (
        "de",
        &[
            "Ich möchte mit einem Menschen sprechen",
            "Bitte verbinden Sie mich mit einem Mitarbeiter",
            "Kann ich mit jemandem vom Kundenservice reden?",
            "Mensch bitte",
            "Ich will mit einer echten Person sprechen",
            "Kundenservice anrufen",
            "Können Sie mich bitte an einen Mitarbeiter weiterleiten?",
            "Ich möchte einen Berater sprechen",
            "ich mochte mit einem menschen sprechn",
            "Gibt es einen Menschen, mit dem ich reden kann?",
            "Verbinden Sie mich mit einem Menschen",
            "Ich brauche einen echten Mitarbeiter",
        ],
    ),
    (
        "es",
        &[
            "Quiero hablar con una persona",
            "¿Puedo hablar con un agente?",
            "Necesito un humano",
            "quiero hablar con un operador por favor",
            "Pásame con un asesor",
            "Me gustaría hablar con una persona real",
            "quiero ablar con una persona",
            "¿Hay alguien con quien pueda hablar?",
            "Comunícame con atención al cliente",
            "humano por favor",
        ],
    ),
    (
        "fr",
        &[
            "Je veux parler à un humain",
            "je veux parler à un conseiller",
            "Pouvez-vous me passer un conseiller ?",
            "Je voudrais parler à une vraie personne",
            "un humain svp",
            "Mettez-moi en relation avec un conseiller",
            "je veux parler a quelqu'un",
            "Est-ce que je peux parler à un agent ?",
            "je veux parlé a un umain",
            "Je souhaite contacter le service client",
        ],
    ),
    (
        "it",
        &[
            "Voglio parlare con un operatore",
            "Posso parlare con una persona?",
            "operatore per favore",
            "Vorrei parlare con un essere umano",
            "Mi passi un operatore",
            "voglio parlare con qualcuno",
            "Posso parlare con un consulente?",
            "vogio parlare con un operatre",
            "mettetemi in contatto con un operatore",
        ],
    ),
    (
        "nl",
        &[
            "Ik wil met een medewerker spreken",
            "Kan ik met een mens praten?",
            "medewerker graag",
            "Ik wil graag iemand spreken",
            "Verbind me door met een medewerker",
            "Ik wil een echt persoon spreken",
            "kan ik met de klantenservice praten",
            "ik wil met een medewerkr spreken",
        ],
    ),
];

const NEGATIVE: &[(&str, &[&str])] = &[
    (
        "en",
        &[
            "Does a person check my order before it ships?",
            "Who is the person responsible for returns?",
            "How long do returns take?",
            "Is the agent discount still available?",
            "My order number is 12345",
            "Does a human review refund requests?",
            "The delivery person left the parcel at my neighbour's",
            "Can I send the order to another person?",
            "Is this jacket for one person or two?",
            "How many people work in your store?",
            "Your customer service team was great last time, thanks!",
            "Can someone else pick up my order?",
            "Is the tent big enough for four people?",
            "I talked to a person in your store yesterday and they said returns are free",
            "Do I need to be a human to buy this? lol",
            "What is the shipping agent's tracking number?",
            "Human-readable invoice please",
            "Can I speak to you about my order?",
            "I want to talk about my order",
            "Can I get a refund as a private person without an account?",
            "Is the human hair wig in stock?",
            "I need a personal shopper appointment",
            "Can you send my agenda to the store?",
            "Let me talk to my wife first and I'll come back",
            "I need a size for a person who is 1.80 m tall",
            "Get me the tracking link please",
            "Can I reach the store by phone?",
            "Do your agents get a commission?",
            "Transfer me the money back please",
        ],
    ),
    (
        "de",
        &[
            "Wie lange dauert der Versand?",
            "Prüft ein Mensch meine Bestellung?",
            "Kann eine andere Person das Paket abholen?",
            "Für wie viele Personen ist das Zelt?",
            "Der Mitarbeiter im Laden war sehr nett",
            "Ist der Kundenservice am Samstag geöffnet?",
        ],
    ),
    (
        "es",
        &[
            "¿Cuánto cuesta el envío?",
            "¿Una persona revisa mi pedido?",
            "¿Es para una persona o dos?",
            "¿Puede otra persona recoger mi pedido?",
            "¿Cuál es el horario de atención al cliente?",
        ],
    ),
    (
        "fr",
        &[
            "Ce produit est-il disponible ?",
            "Une personne vérifie-t-elle ma commande ?",
            "La tente est pour combien de personnes ?",
            "Personne ne m'a répondu hier",
            "Quels sont les horaires du service client ?",
        ],
    ),
    (
        "it",
        &[
            "Quanto costa la spedizione?",
            "Una persona controlla il mio ordine?",
            "La tenda è per quante persone?",
            "Un'altra persona può ritirare il pacco?",
        ],
    ),
    (
        "nl",
        &[
            "Hoe lang duurt de verzending?",
            "Controleert een mens mijn bestelling?",
            "Voor hoeveel personen is de tent?",
            "Kan iemand anders mijn pakket ophalen?",
        ],
    ),
];

#[test]
fn requests_for_a_person_are_caught_in_six_languages() {
    let mut missed = Vec::new();
    for (lang, texts) in POSITIVE {
        for text in *texts {
            if wants_human(text).is_none() {
                missed.push(format!("[{lang}] {text}"));
            }
        }
    }
    assert!(missed.is_empty(), "missed {} requests:\n{}", missed.len(), missed.join("\n"));
}

#[test]
fn mentions_of_people_are_not_requests() {
    let mut false_alarms = Vec::new();
    for (lang, texts) in NEGATIVE {
        for text in *texts {
            if let Some(h) = wants_human(text) {
                false_alarms.push(format!("[{lang}] {text} ({h:?})"));
            }
        }
    }
    assert!(false_alarms.is_empty(), "{} false alarms:\n{}", false_alarms.len(), false_alarms.join("\n"));
}

#[test]
fn a_200k_character_message_is_handled() {
    let mut long = "I ordered a jacket last week and it did not arrive, please check. ".repeat(3_000);
    assert!(wants_human(&long).is_none());
    long.push_str("I want to talk to a person.");
    assert!(wants_human(&long).is_some());
}
