"""Print 2,000 support-style sentences of 10-60 words, one per line.

Deterministic (a fixed seed and Python's stable `random.Random`), so every run
of bench/embedding/run embeds exactly the same text with both engines.
Usage: python gen_sentences.py [COUNT] > sentences.txt
"""

import random
import sys

OPENERS = [
    "Hi there,", "Hello,", "Good morning,", "Hey,", "Dear support team,", "Quick question:",
    "Sorry to bother you again, but", "I hope you can help:", "Urgent:", "",
]
SUBJECTS = [
    "my order", "the parcel", "my subscription", "the invoice", "my account", "the refund",
    "the mobile app", "the checkout page", "my password reset email", "the warranty claim",
    "the replacement headphones", "my gift card", "the delivery slot", "the annual plan",
    "my two-factor code", "the API key", "the shared workspace", "the return label",
]
PROBLEMS = [
    "has not arrived even though the tracking page says it was delivered yesterday",
    "was charged twice on my credit card",
    "keeps showing an error when I try to pay with PayPal",
    "arrived damaged and the box was completely soaked",
    "does not let me change the shipping address",
    "was cancelled without any explanation",
    "shows the wrong price compared to your website",
    "stopped working after the latest update",
    "never reached my inbox, not even the spam folder",
    "is stuck on processing for more than a week now",
    "was supposed to be free with my premium membership",
    "is missing two items that were on the packing list",
]
DETAILS = [
    "I ordered it on the {d} and paid for express shipping.",
    "The order number is {n} if that helps.",
    "I already tried logging out, clearing the cache and reinstalling the app.",
    "My colleague had the same issue last month and it took ages to fix.",
    "I am travelling next week so I need this sorted out quickly.",
    "Your chatbot sent me in circles and I could not reach a person.",
    "I live in {c}, so maybe shipping works differently here.",
    "I have been a loyal customer for {y} years and this never happened before.",
    "The confirmation email says one thing and the website says another.",
    "I attached a screenshot of the error message to my previous email.",
]
ASKS = [
    "Can you tell me what is going on?",
    "Could you please issue a refund to my original payment method?",
    "Is it possible to get a replacement sent instead?",
    "How long will this take to resolve?",
    "What are my options here?",
    "Please let me speak to a human agent.",
    "Do I need to send the item back first?",
    "Can you escalate this to your billing department?",
    "Would a store credit be possible instead?",
    "",
]
COUNTRIES = ["Portugal", "Canada", "Norway", "Japan", "Chile", "Kenya", "Poland", "Ireland"]


def sentence(rng: random.Random) -> str:
    parts = [rng.choice(OPENERS), rng.choice(SUBJECTS), rng.choice(PROBLEMS) + "."]
    for detail in rng.sample(DETAILS, rng.randint(0, 3)):
        parts.append(
            detail.format(
                d=rng.choice(["1st", "2nd", "3rd", "4th", "12th", "21st", "28th"]), n=rng.randint(100000, 999999),
                c=rng.choice(COUNTRIES), y=rng.randint(2, 12),
            )
        )
    parts.append(rng.choice(ASKS))
    words = " ".join(p for p in parts if p).split()
    words = words[:60]
    if words and not words[0][0].isupper():
        words[0] = words[0].capitalize()
    return " ".join(words)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    rng = random.Random(20240601)
    out = []
    while len(out) < count:
        s = sentence(rng)
        if 10 <= len(s.split()) <= 60:
            out.append(s)
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
