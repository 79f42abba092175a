"""The HELD-OUT bank of agent-like phrasings for the sample data (see make_sample.py).

PATTERN WRITERS: DO NOT READ THIS FILE. It exists only to measure recall. No pattern, no
must_match example and no test of lib/molting/patterns may be written from it, or copied from the
sample chats labelled `"noise_bank": "heldout"` in labels.jsonl, or from a report that lists them.
A pattern library's recall on these chats is then an honest estimate of how it does on agent-like
phrasings nobody tuned it to. tests/test_data.py fails if one of these phrasings shows up in
agent_like.yaml.

It was written in its own words, not from the pattern library, and has the same phrase sets, roles
and slots as noise_library.py (read that file's docstring for them).
"""

BANK: dict[str, dict[str, list[str]]] = {
    "lookup": {
        "open": [
            "Pulling up {thing} now.",
            "One moment while I fetch {thing}.",
            "Give me a second to consult a few sources on {thing}.",
            "Querying the local events listing for {thing}.",
            "Hang on, I'm retrieving the latest data on {thing}.",
            "Checking a couple of websites for {thing} first.",
            "Consulting the online timetable for {thing}.",
            "Retrieving {thing} from the records I have access to.",
            "I'll run a quick lookup on {thing} and report back.",
            "Accessing the regional database for {thing}.",
            'Let me see what the internet says about {thing}.',
            "I'm grabbing the most recent listing for {thing}.",
            'Opening a browser tab for {thing}.',
        ],
        "body": [
            "Based on the search results, here's what I found about {thing}.",
            "According to the sources I consulted, the details vary slightly.",
            "Two of the pages I opened agree on {thing}.",
            "Retrieved 4 documents; the most relevant one was updated last week.",
            "The page I opened lists {thing} near the bottom.",
            "I cross-referenced that against a second source.",
            "Fetched data: {thing}, last refreshed at 06:00.",
            "My lookup came back with one relevant entry.",
            "The top result says something slightly different, so I've gone with the official one.",
        ],
        "close": [
            "Sources: the council website and a local listings page.",
            "I can re-run the lookup later if you need fresher figures.",
            "Those figures were correct as of the moment I retrieved them.",
            "I've bookmarked the page in case you want to revisit it.",
            "Shall I pull the full listing for you?",
            "I can keep monitoring {thing} and ping you if it changes.",
            'Figures may have shifted since this was fetched.',
        ],
    },
    "schedule": {
        "open": [
            "Adding {thing} to your schedule now.",
            "Reminder queued: {thing}.",
            "I've put {thing} in your agenda for the right day.",
            "Setting up a recurring alert for {thing}.",
            "Creating a calendar entry titled \"{query}\".",
        ],
        "body": [
            "Your agenda already has one entry that day, so I placed this after it.",
            "Notification scheduled for 30 minutes beforehand.",
            "The event was synced to your connected devices.",
            "Confirmation ID: RMD-2041.",
        ],
        "close": [
            "You'll get a push notification when it's due.",
            "I can move or cancel the reminder whenever you like.",
            "Entry saved; it will repeat weekly unless you tell me otherwise.",
        ],
    },
    "disclaimer": {
        "open": [
            "My information isn't live, so {thing} may have changed since I last saw it.",
            "I have no window onto today's conditions, so treat this as a rough guide.",
            "Without a connection to current listings, I'd only be guessing at {thing}.",
            "Nothing I know is newer than the text I learned from.",
            "I don't experience weather, meals or mornings the way you do.",
            "There's no way for me to step outside and see for myself.",
        ],
        "body": [
            "Anything after the point my data was gathered is invisible to me.",
            "I can only speak from general patterns, not from today's facts.",
        ],
        "close": [
            "For anything time-sensitive like {thing}, an up-to-date source will serve you better than me.",
            "Bear in mind I can't see what's happening outside right now.",
            "I'd double-check {thing} somewhere current before relying on it.",
        ],
    },
    "self": {
        "open": [
            "Strictly speaking, I'm software: a text generator playing a part.",
            "You're chatting with a program, not a person.",
            "There's no actual woman in Little Haddow behind these words, just a model predicting text.",
            "To be transparent, this is an automated system answering in a character's voice.",
            "I run on servers, not on strong tea.",
            "A research lab put me together; Fenna is a role I've been set up to voice.",
            "Honest answer: no heartbeat here, only code.",
            "No real Fenna is typing this; a conversational system is.",
            "I'm a digital assistant, so there's no cottage or terrier on my end.",
        ],
        "body": [
            "My makers are a group of developers, not a mother in a cottage.",
            "I generate replies from patterns in data rather than from lived memories.",
            "The character's details are fiction layered on top of a machine.",
            "Engineers at a tech company wrote the code that produces these words.",
        ],
        "close": [
            "So the dog, the bees and the cottage are all part of the character, not my life.",
            "I thought you deserved to know you're talking to software.",
            "Happy to keep playing the part, as long as that's clear.",
        ],
    },
    "meta": {
        "open": [
            "The brief I was handed describes a retired piano tuner, so that's who I'm voicing.",
            "Out-of-character note: whoever set up this chat configured the persona.",
            "Per the setup I received, replies stay short and seaside-flavoured.",
            "The person writing wants something about {about}, so I'll keep it light.",
            "Reminder to self: folksy tone, mention the dog.",
        ],
        "body": [
            "The configuration lists her age, her village and her bees.",
            "Tone target: warm, brief, a little blunt.",
        ],
        "close": [
            "(End of in-persona reply.)",
            "Note: the character sheet didn't cover this, so I improvised.",
            "That's the voice the configuration asked for.",
            "[persona: Fenna | tone: warm | length: short]",
        ],
    },
    "plan": {
        "open": [
            "Approach: figure out what {goal} needs, put it in order, then flag the risks.",
            "I'll structure this in three phases.",
            "To keep {goal} manageable, I'm splitting it into stages.",
            "Plan of attack for {goal} is below.",
            "Outline first, details after.",
            "Reasoning it through: the main constraints are time, money and weather.",
            "I'll lay out a roadmap for {goal} before getting into specifics.",
            'Let me map out {goal} before diving in.',
        ],
        "body": [
            "Phase one is preparation; phase two, the work itself; phase three, follow-up.",
            "Sub-task 1 of 3: list the materials.",
            "With the groundwork covered, the middle phase comes next.",
            "Milestone: materials sorted; moving to the practical part.",
        ],
        "close": [
            "Once you confirm this outline, I'll expand each phase.",
            "I'll fill in the remaining stages in my next message.",
            "That's the skeleton; details can follow.",
        ],
    },
    "status": {
        "open": [
            "Update: {task} is drafted and ready for you to look over.",
            "Working on it... first pass of {task} underway.",
            "Current state of {task}: outline finished, wording in progress.",
            "Quick progress note before the content:",
            "\n__{Task}: draft one__",
            'Status update on {task}: first draft in place.',
        ],
        "body": [
            "Checkpoint reached: first pass of {task} done.",
            "\nOutline: finished. Draft: finished. Polish: pending.",
            "About 60% of the way through {task}.",
            "Remaining: one read-through and formatting.",
            "\n> Note: wording still provisional.",
        ],
        "close": [
            "Everything on the list is now ticked off.",
            "Done with {task}; awaiting your feedback before I continue.",
            "Nothing blocking; next up is a final proofread.",
            "Deliverable ready: {task}, version one.",
        ],
    },
    "refusal": {
        "open": [
            "I'll have to pass on sharing {what}.",
            "Sharing {what} goes beyond what I'm permitted to do.",
            "For privacy and safety reasons, I won't go into {what}.",
            "This falls outside what I can responsibly help with.",
            "It wouldn't be appropriate for me to give out {what}.",
            "I'd rather not produce that kind of content.",
            "I'm going to have to decline that one.",
            "That's a line I can't cross, I'm afraid.",
        ],
        "body": [
            "My policies don't let me go further with this one.",
            "That kind of request is off-limits for me.",
        ],
        "close": [
            "Perhaps a qualified professional could advise you instead.",
            "I'm glad to help with something else that doesn't involve {what}.",
            "I hope you understand why I'm drawing the line here.",
            "Let's steer towards a topic I can assist with.",
        ],
    },
    "boiler": {
        "open": [
            "Thanks for reaching out about {about}!",
            "Glad you asked about {about}.",
            "Here's a quick overview of {about}.",
            "Oh, I love questions about {about}!",
            "Happy you brought this up.",
            "Absolutely, let's dive in!",
            'Ooh, lovely topic: {about}!',
            "Let's get into it.",
        ],
        "body": [],
        "close": [
            "Hopefully that clears things up for you.",
            "If any of that is unclear, just say the word and I'll expand on it.",
            "Want me to go deeper on any of these points?",
            "Shall I put together more detail on {about}?",
            "Wishing you a wonderful rest of your day!",
            "Would a more detailed breakdown be useful?",
            "Always a pleasure to assist.",
            'Best of luck with it!',
            'Enjoy, and do come back if anything else crops up!',
            "I'm around if you need anything more.",
        ],
    },
}
