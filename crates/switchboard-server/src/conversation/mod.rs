//! The conversation engine: agents' configuration, the message pipeline
//! (route -> retrieve -> act -> guard -> reply -> persist), the built-in
//! extractive answerer and the language-model answerer. Start reading at [`pipeline::run_turn`].

pub mod agent;
pub mod answer_type;
pub mod budget;
mod claims;
pub mod extractive;
pub mod http_tools;
pub mod intents;
mod links;
pub mod llm;
pub mod phrases;
pub mod pipeline;
mod places;
pub mod sentence_vectors;
mod stream;
pub mod tools;
