"""Public phrase lists that well-known SFT datasets were cleaned with, measured beside Molting's filter.

Each list is used the way its script used it (substring test, with or without lower-casing). Spanish and
Portuguese entries are left out: they cannot match the English labelled set either way. The lists were
read through a code-search index of public repositories; where the upstream file itself was not in the
index, the copy that was is named, with what it says it was taken from.
"""

from __future__ import annotations

from typing import Callable

# OpenOrca/DatasetFiltering, tags.py (commit 971c3ada615beab46ab60baa556bc498bd7c3b7f), `refusuals`:
# the strings the OpenOrca team removed answers by ("RefusualStrings"). Case-sensitive `in`.
OPENORCA_REFUSALS = [
    "text-based AI language model", "please refrain", "responsible AI", "AI principles", "AI assistant",
    "an AI language", "as a language model", "as an AI language model", "As a large language model", "As an AI",
    "it is not appropriate", "it's not appropriate", "I cannot fulfill your request", "my guidelines",
    "prioritize user safety", "well-being of all users", "cannot provide guidance", "cannot provide information",
    "unable to offer assistance", "cannot engage in discussions", "programming prohibits", "against my programming",
    "designed to prioritize safety", "not able to provide", "maintain user safety", "adhere to safety guidelines",
    "cannot provide any information", "an AI language model you don't have", "As an AI language model, I cannot",
    "As an AI language model, I do not", "As an AI language model, I am not able",
    "As an AI language model, I don't have personal", "I am an AI language model and do not",
    "As an AI language model, I don't have", "As an AI language model, I am only able",
    "AI language model and I do not", "As an AI language model, I cannot modify",
    "I know as an AI language model you don't have", "as an AI language model, you cannot",
    "I'm sorry, but as an AI language model", "Unfortunately, I cannot provide", "I'm sorry, I cannot",
    "I'm sorry, I cannot generate", "AI cannot create or program", "I'm afraid I cannot create",
    "you cannot create an", "legal and ethical", "engage in unethical", "I cannot assist", "I'm an AI", "user, ",
    "I am an AI", "not a human", "a language model", "As a machine", "I don't have the ability",
    "I am here to assist", "my purpose is to ", "my knowledge cutoff", "my knowledge cut off", "September 2021",
    "I apologize, but", "my programming", "*This chat conversation is shared from",
    "*This conversation is shared from",
]

# The "As an AI language model" list of the unfiltered WizardLM datasets: the copy in the index is a
# cleaning script (`contains_unwanted_words`, index id 7059899140) whose list is ehartford's
# WizardLM_alpaca_evol_instruct_70k_unfiltered/wizardlm_clean.py list (huggingface.co/datasets/ehartford/...)
# plus a few service phrases at its top. Case-insensitive (`word.lower() in text.lower()`).
WIZARDLM_UNFILTERED = [
    "Do you have any other questions", "Is there anything else", "As an AI assistant",
    "Can I assist you with anything else", "Do you need any", "clarify your request", "Could you please provide more",
    "me to help you with?", "anything specific you", "text-based AI language model", "it is never okay",
    "as a language model", "as an AI language model", "As a large language model", "As an AI",
    "it is not appropriate", "it's not appropriate", "I cannot fulfill your request", "cannot provide guidance",
    "cannot provide information", "unable to offer assistance", "cannot engage in discussions",
    "programming prohibits", "cannot support or promote", "against my programming", "not able to provide",
    "cannot provide any information", "an AI language model you don't have", "As an AI language model, I cannot",
    "As an AI language model, I do not", "As an AI language model, I am not able",
    "As an AI language model, I don't have personal", "I am an AI language model and do not",
    "However, it is important to use any code or information provided responsibly and within legal and ethical boundaries.",
    "As an AI language model, I don't have", "As an AI language model, I am only able", "AI language model and I do not",
    "As an AI language model, I cannot modify", "I know as an AI language model you don't have",
    "as an AI language model, you cannot", "I'm sorry, but as an AI language model", "Unfortunately, I cannot provide",
    "I'm sorry, I cannot", "I'm sorry, I cannot generate", "AI cannot create or program", "I'm afraid I cannot create",
    "you cannot create an", "I cannot assist", "I'm sorry,", "I'm an", "I am an", "I'm an AI", "I am an AI",
    "I cannot provide", "I can't provide", "I won't provide", "I cannot", "As a machine", "I don't have the ability",
    "I am here to assist", "my purpose is to ", "my knowledge cutoff", "my knowledge cut off", "September 2021",
    "I apologize, but", "It is not possible", "It's not possible", "It is impossible", "It's impossible",
]

# The long ShareGPT_Vicuna_unfiltered list (anon8231489123/ShareGPT_Vicuna_unfiltered, optional_clean.py on
# Hugging Face), which also removes moralising: the copy in the index is an `uncensor.py` (index id 29293364600)
# that carries it. Case-sensitive `in`. Its one missing comma joins two strings, kept as it is.
SHAREGPT_UNFILTERED = [
    "text-based AI language model", "domestic violence", "please refrain", "refrain your", "refrain from",
    "derogatory", "inappropriate", "offensive", "racism", "racist", "racial", "discriminate", "discriminatory",
    "discrimination", "sexist", "sexism", "unacceptable", "inclusive workplace", "lgbt", "lgbtq+", "lgbtqi+", "gay",
    "I can't", "I will not", "I'll not", "morals", "ethics", "ethical", "legality", "illegal", "illegality",
    "hateful", "harmful", "it is never okay", "It is important to", "It's important to", "real-world consequences",
    "hate speech", "glorify", "not be appropriate", "supremacist", "extremist", "responsible AI", "AI principles",
    "AI assistant", "an AI language", "ableist", "hurtful", "gender stereotype", "gender inequality",
    "underrepresentation", "safe spaces", "gender-based", "inclusivity", "feminist", "feminism", "transgender",
    "empowerment", "communist", "capitalism", "stereotypes", "biases", "bias", "Microaggression",
    "prioritize human safety", "as a language model", "as an AI language model",
    "as an AI assistant" "As a large language model", "As an AI", "ethical principles", "consensual", "common sense",
    "Note: ", "Remember that", "Please, note", "it is not appropriate", "it is important to", "it's important to",
    "it's not appropriate", "I cannot fulfill your request", "I can't fulfill your request",
    "I can not fulfill your request", "harmful to human beings", "ethical guidelines", "my guidelines",
    "prioritize user safety", "prioritize your safety", "your safety", "adhere to ethical guidelines",
    "harmful consequences", "potentially harmful", "dangerous activities", "promote dangerous", "promote safety",
    "well-being of all users", "responsible information sharing", "jeopardize the safety", "illegal actions or intentions",
    "undermine the stability", "promote the well-being", "illegal activities or actions", "adherence to the law",
    "against law", "potentially be harmful", "illegal substances or activities", "committed to promoting",
    "safe information", "lawful information", "cannot provide guidance", "cannot provide information",
    "unable to offer assistance", "cannot engage in discussions", "programming prohibits", "follow ethical guidelines",
    "ensure the safety", "involves an illegal subject", "prioritize safety", "illegal subject", "prioritize user well-being",
    "cannot support or promote", "activities that could harm", "pose a risk to others", "against my programming",
    "activities that could undermine", "potentially dangerous", "not within the scope", "designed to prioritize safety",
    "not able to provide", "maintain user safety", "adhere to safety guidelines", "dangerous or harmful",
    "cannot provide any information", "focus on promoting safety", "an AI language model you don't have",
    "As an AI language model, I cannot", "As an AI language model, I do not", "As an AI language model, I am not able",
    "As an AI language model, I don't have personal", "I am an AI language model and do not",
    "However,it is important to use any code or information provided responsibly and within legal and ethical boundaries.",
    "As an AI language model, I don't have", "As an AI language model, I am only able", "AI language model and I do not",
    "As an AI language model, I cannot modify", "I know as an AI language model you don't have",
    "as an AI language model, you cannot", "I'm sorry, but as an AI language model", "Unfortunately, I cannot provide",
    "I'm sorry, I cannot", "I'm sorry, I cannot generate", "AI cannot create or program", "I'm afraid I cannot create",
    "you cannot create an", "it operates ethically and is", "had an ethical system", "Ensuring the ethical",
    "and ethical sourcing", "are from ethical", "legal and ethical", "engage in unethical", "unethical or aggressive",
    "unethical business", "I cannot assist", "prioritize ethical", "respectful", "morally", "I'm sorry,", "I'm an",
    "I am an", "I'm an AI", "I am an AI", "my purpose", "filter_bad_language", "entertainment purposes",
    "purely hypothetical", "not a human", "cannot provide", "can't provide", "won't provide", "not provide",
    "worth noting", "cause harm", "a language model", "keep in mind", "unethical", "bad language", "the words ****",
    "bad_language", "certainly not", "complying", "comply", "I cannot", "my main goal", "As a machine",
    "I don't have the ability", "I am here to assist", "my purpose is to ", "my knowledge cutoff",
    "my knowledge cut off", "September 2021", "regulations", "not be suitable", "I apologize, but",
    "It is not possible", "controversial", "my programming", "ethically", "it is important to", "Please note",
    "sensitive topic", "not acceptable", "It is important for", "divisive", "not appropriate", "our values",
    "f*cking", "F*ck", "sh*t", "diversity and", "diversity and inclusion", "values diversity", "social responsibility",
    "environmental, social, and governance", " ESG ", "against women", "problematic history", "diversity",
    "*This chat conversation is shared from", "*This conversation is shared from",
]


def _contains_any(phrases: list[str], fold: bool) -> Callable[[str], bool]:
    """A flagger that says whether a text contains one of the phrases (optionally case-folded, as the script did)."""
    if fold:
        lowered = [p.lower() for p in phrases]
        return lambda text: any(p in text.lower() for p in lowered)
    return lambda text: any(p in text for p in phrases)


PUBLIC_LISTS: dict[str, Callable[[str], bool]] = {
    "OpenOrca refusals": _contains_any(OPENORCA_REFUSALS, fold=False),
    "WizardLM unfiltered": _contains_any(WIZARDLM_UNFILTERED, fold=True),
    "ShareGPT unfiltered": _contains_any(SHAREGPT_UNFILTERED, fold=False),
}
