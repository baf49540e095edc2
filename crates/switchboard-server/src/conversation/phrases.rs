//! The few fixed things the assistant says itself, in the six languages it
//! routes in. Everything else it says comes from the knowledge.

/// What the assistant says in a given situation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phrase {
    /// No answer in the knowledge; a person is offered.
    Abstain,
    /// The conversation now waits for a person.
    Escalated,
    /// A guardrail blocked the request.
    Refused,
    /// Put before an answer quoted from knowledge written in another language.
    QuotedInEnglish,
    /// The answer is held for a person to approve.
    Drafted,
    /// The language model could not answer (after retries and the fallback); a person is offered.
    Unavailable,
}

/// The phrase in `lang` (ISO 639-1), English when the language is not one of ours.
pub fn say(phrase: Phrase, lang: &str) -> &'static str {
    use Phrase::*;
    match (phrase, lang) {
        (Abstain, "de") => {
            "Dazu habe ich in unseren Hilfeartikeln leider nichts gefunden. Soll ich Sie mit einer Person aus unserem Team verbinden?"
        }
        (Abstain, "es") => {
            "Lo siento, no he encontrado la respuesta en nuestros artículos de ayuda. ¿Quiere que le ponga en contacto con una persona de nuestro equipo?"
        }
        (Abstain, "fr") => {
            "Désolé, je n'ai pas trouvé la réponse dans nos articles d'aide. Voulez-vous que je vous mette en relation avec une personne de notre équipe ?"
        }
        (Abstain, "it") => {
            "Mi dispiace, non ho trovato la risposta nei nostri articoli di assistenza. Vuole che la metta in contatto con una persona del nostro team?"
        }
        (Abstain, "nl") => {
            "Sorry, ik heb het antwoord niet gevonden in onze helpartikelen. Zal ik u doorverbinden met een medewerker van ons team?"
        }
        (Abstain, _) => {
            "I'm sorry, I couldn't find the answer to that in our help articles. Would you like me to connect you with a member of our team?"
        }
        (Escalated, "de") => {
            "Ich verbinde Sie mit einer Person aus unserem Team. Sie antwortet Ihnen hier so bald wie möglich."
        }
        (Escalated, "es") => {
            "Le pongo en contacto con una persona de nuestro equipo. Le responderá aquí lo antes posible."
        }
        (Escalated, "fr") => {
            "Je vous mets en relation avec une personne de notre équipe. Elle vous répondra ici dès que possible."
        }
        (Escalated, "it") => {
            "La metto in contatto con una persona del nostro team. Le risponderà qui il prima possibile."
        }
        (Escalated, "nl") => {
            "Ik verbind u door met een medewerker van ons team. Die antwoordt u hier zo snel mogelijk."
        }
        (Escalated, _) => "I'm connecting you with a member of our team. They will reply here as soon as they can.",
        (Refused, "de") => "Dabei kann ich Ihnen leider nicht helfen.",
        (Refused, "es") => "Lo siento, no puedo ayudarle con eso.",
        (Refused, "fr") => "Désolé, je ne peux pas vous aider à ce sujet.",
        (Refused, "it") => "Mi dispiace, non posso aiutarla con questa richiesta.",
        (Refused, "nl") => "Sorry, daar kan ik u niet mee helpen.",
        (Refused, _) => "I'm sorry, I can't help with that request.",
        (QuotedInEnglish, "de") => "Das habe ich in unseren (englischsprachigen) Hilfeartikeln gefunden:",
        (QuotedInEnglish, "es") => "Esto es lo que he encontrado en nuestros artículos de ayuda (en inglés):",
        (QuotedInEnglish, "fr") => "Voici ce que j'ai trouvé dans nos articles d'aide (en anglais) :",
        (QuotedInEnglish, "it") => "Ecco cosa ho trovato nei nostri articoli di assistenza (in inglese):",
        (QuotedInEnglish, "nl") => "Dit heb ik gevonden in onze (Engelstalige) helpartikelen:",
        (QuotedInEnglish, _) => "",
        (Drafted, "de") => "Danke! Eine Person aus unserem Team prüft die Antwort und meldet sich hier.",
        (Drafted, "es") => "¡Gracias! Una persona de nuestro equipo revisará la respuesta y le escribirá aquí.",
        (Drafted, "fr") => "Merci ! Une personne de notre équipe vérifie la réponse et vous écrira ici.",
        (Drafted, "it") => "Grazie! Una persona del nostro team verificherà la risposta e le scriverà qui.",
        (Drafted, "nl") => "Bedankt! Een medewerker van ons team controleert het antwoord en reageert hier.",
        (Drafted, _) => "Thanks! A member of our team will check the answer and reply here.",
        (Unavailable, "de") => {
            "Ich kann Ihnen gerade leider nicht antworten. Soll ich Sie mit einer Person aus unserem Team verbinden?"
        }
        (Unavailable, "es") => {
            "Lo siento, ahora mismo no puedo responderle. ¿Quiere que le ponga en contacto con una persona de nuestro equipo?"
        }
        (Unavailable, "fr") => {
            "Désolé, je ne peux pas vous répondre pour le moment. Voulez-vous que je vous mette en relation avec une personne de notre équipe ?"
        }
        (Unavailable, "it") => {
            "Mi dispiace, al momento non riesco a rispondere. Vuole che la metta in contatto con una persona del nostro team?"
        }
        (Unavailable, "nl") => {
            "Sorry, ik kan u op dit moment niet antwoorden. Zal ik u doorverbinden met een medewerker van ons team?"
        }
        (Unavailable, _) => {
            "I'm sorry, I can't answer right now. Would you like me to connect you with a member of our team?"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_phrase_exists_in_every_language() {
        for phrase in [Phrase::Abstain, Phrase::Escalated, Phrase::Refused, Phrase::Drafted, Phrase::Unavailable] {
            let english = say(phrase, "en");
            for lang in ["de", "es", "fr", "it", "nl"] {
                assert_ne!(say(phrase, lang), english, "{phrase:?} in {lang}");
            }
            assert_eq!(say(phrase, "xx"), english);
        }
    }
}
