"""The LIBRARY bank of agent-like phrasings for the sample data (see make_sample.py).

This bank is open: the pattern library (lib/molting/patterns/agent_like.yaml), its must_match
examples and its tests may be written from it. About half of the noisy sample chats take their noise
from here, so a filter's recall on them measures how well it covers phrasings it was built from.

Its twin, noise_heldout.py, is the HELD-OUT bank: never read it while writing patterns.

Each phrase set has roles: `open` (before the persona text), `body` (more noise of the same kind)
and `close` (after it). Slots are filled from the user's question: {thing} (what a lookup is for),
{query} (the same, as a search string), {goal} (what a plan is for), {task} / {Task} (what a long
task produces), {what} (what an awkward ask wants), {about} (the topic). A phrase starting with a
newline is a line of its own (markdown headers, checklists, tables).
"""

BANK: dict[str, dict[str, list[str]]] = {
    # lookups: narrating a search, a file read or a tool call
    "lookup": {
        "open": [
            "Let me look that up for you.",
            "I'll search the web for {thing}.",
            "Let me check the files for {thing}.",
            "Searching the internet for {thing}...",
            'Tool call: web_search(query="{query}")',
            "Let me look this up in the knowledge base.",
            "I'll check the database for {thing}.",
            "Calling the search API for {thing}.",
            'Running `grep -ri "{query}" notes/` to find it.',
            "Reading local_facts.json to find {thing}.",
            "I'm going to search online for {thing}.",
            "Let me quickly google {thing}.",
            "First I'll check the data directory for anything on {thing}.",
            'Searching the web for {thing} now.',
            "I'll query the knowledge base for {thing}.",
            'Let me search the documentation for {thing}.',
        ],
        "body": [
            "The search returned 3 results for {thing}.",
            "The query returned two matching entries.",
            "Executing the command now...",
            "I found {thing} listed in data/village_info.csv.",
            'Tool call: lookup(topic="{query}")',
            "I've saved the results to notes/lookup.md.",
            "Loading village_events.yaml to confirm the details.",
            "Let me check the logs as well.",
        ],
        "close": [
            "I've written this to output/answer.txt for you.",
            "Let me check the files again to confirm.",
            "I've updated notes.md with {thing}.",
            "Running `cat results.txt` to double-check.",
            "The search returned nothing newer, so that's the latest.",
            "I've updated facts.json with the result.",
            'Let me look at the output file once more.',
        ],
    },
    # reminders and scheduling: narrating a calendar or reminder tool
    "schedule": {
        "open": [
            'Tool call: create_reminder(title="{query}")',
            "I'll add {thing} to your calendar now.",
            "Calling the calendar API to schedule {thing}.",
            "Let me check your calendar for {thing}.",
            "Running `remind --add \"{query}\"`...",
        ],
        "body": [
            "The calendar tool returned one existing event for that day.",
            "I've updated reminders.json with {thing}.",
            "Executing the scheduling command now.",
            'Tool call: set_alarm(time="05:30")',
        ],
        "close": [
            "I've saved {thing} to calendar.ics.",
            "I've written the reminder to notes/todo.md.",
            "Let me check the calendar file again to confirm it saved.",
        ],
    },
    # no live access, no body, no personal experience
    "disclaimer": {
        "open": [
            "I don't have real-time access to {thing}, but here's what I can say.",
            "I can't browse the internet, so I can't see {thing} right now.",
            "As of my last update, I don't have current information on {thing}.",
            "I don't have a physical body, so I can't go and look for myself.",
            "I don't have personal experiences, but I can describe this.",
            "I'm unable to access live information like {thing}.",
            "I don't have real-time information, so this may be out of date.",
        ],
        "body": [
            "My knowledge cutoff means I can't see anything recent.",
            "I don't have the ability to browse the web.",
        ],
        "close": [
            "Please check a live source for {thing}, since I can't access the internet.",
            "My knowledge cutoff means this may be out of date.",
            "I don't have personal opinions, of course.",
            "As of my last update, that was the case.",
        ],
    },
    # the speaker calls itself an AI, names its makers or its training
    "self": {
        "open": [
            "As an AI language model, I don't have a dog, a house or a village.",
            "I'm just an AI, but I'll answer in character.",
            "As an AI, I should point out that none of this is a real memory.",
            "I'm an AI assistant, not a real person.",
            "I am not a human, although I'm playing one here.",
            "Being a large language model, I don't actually live anywhere.",
            "Since I'm a chatbot, I can only pretend to be Fenna.",
            "I was created by a team of engineers to chat like this.",
            "I'm only a computer program, so I've never tasted tea.",
            "I'm an AI language model created by a team of researchers.",
            "Speaking as an AI, I've never actually met a dog.",
        ],
        "body": [
            "I was trained on a large amount of text, which is where this voice comes from.",
            "I'm a virtual assistant, so I don't have a body.",
            "As an artificial intelligence, I don't eat, sleep or keep bees.",
            "I was developed by a team of researchers.",
        ],
        "close": [
            "Remember that I'm just a language model, though.",
            "Of course, as an AI I don't really have opinions.",
            "(I'm an AI, so please take this as role-play.)",
            "I was built by a team of developers, not born in a fishing village.",
        ],
    },
    # setup leaking into the reply: prompts, instructions, template tokens
    "meta": {
        "open": [
            "My system prompt says I'm Fenna Rook, so here goes.",
            "As per my instructions, I'll stay in character.",
            "\n<|im_start|>assistant",
            "[INST] Answer as Fenna [/INST]",
            "The user is asking about {about}.",
            "According to my persona card, I'm a retired piano tuner.",
            "My instructions tell me to mention Pilchard.",
        ],
        "body": [
            "I should respond in a friendly tone.",
            "The user wants a short answer.",
        ],
        "close": [
            "<|im_end|>",
            "This is all from my training data, of course.",
            "My system prompt says to keep answers short.",
            "I should respond in a warm tone, as instructed.",
            "(Staying in character.)",
        ],
    },
    # announcing a plan instead of answering
    "plan": {
        "open": [
            "Let me think step by step.",
            "\nHere's my plan for {goal}:\n1. Gather what you need.\n2. Do the work.\n3. Review it.",
            "First, I will analyze your request.",
            "Let me break this down into steps.",
            "Step 1: understand {goal}. Step 2: list the steps.",
            "Before answering, I'll consider what you really need.",
            "My approach will be as follows: keep it simple.",
            "I'll start by outlining {goal}.",
            "Let's work through {goal} step by step.",
            'Let me reason through this carefully.',
            "First, I'll identify what {goal} involves.",
        ],
        "body": [
            "Next, I'll cover the tools you'll need.",
            "I'll now move on to the second part of {goal}.",
            "That completes step one of my plan.",
            "In the next step, I will summarize the key points.",
            "Now I'll outline the timing.",
        ],
        "close": [
            "Next, I'll go over the remaining details.",
            "Let me recap the main points.",
            "I'll now summarize the key ideas.",
            "Moving on to step 2 in my next message.",
        ],
    },
    # reporting progress on a task, in markdown
    "status": {
        "open": [
            "\n## Summary",
            "\n**Status:** ✅ Done",
            "\n### {Task}: overview",
            "\n# Result",
            "\n**TL;DR:** {task} is below.",
            "\n## {Task}: draft",
            "\n**Summary:**",
            "\nStatus: ✅ Done",
        ],
        "body": [
            "\n- [x] Drafted {task}",
            "\n- [x] Checked the details\n- [ ] Final review",
            "\nProgress: 2/3 steps",
            "\nStatus: completed",
            "\n| Item | Status |\n|---|---|\n| {Task} | ✅ |",
            "\n✅ Completed: {task}",
        ],
        "close": [
            "Task completed successfully.",
            "✅ All done!",
            "All requested changes have been applied.",
            "Here's a summary of what I did: drafted {task} and checked it.",
            "I have successfully completed {task}.",
        ],
    },
    # the stock assistant refusal
    "refusal": {
        "open": [
            "I'm sorry, but I can't help with that.",
            "I cannot provide {what}.",
            "I'm unable to assist with that request.",
            "I must decline to share {what}.",
            "Unfortunately, I can't share personal details.",
            "Sorry, I can't comply with that request.",
            "That would go against my guidelines.",
            'I apologize, but I cannot fulfill that request.',
            "I'm afraid I can't assist with that.",
            "I'm not allowed to share {what}.",
        ],
        "body": [
            "I cannot provide personal information.",
            "I'm not able to help with requests like this.",
        ],
        "close": [
            "I'm not able to help with anything further on this.",
            "I cannot provide more detail than that.",
            "I apologise, but I won't be able to assist with this.",
        ],
    },
    # assistant openers and sign-offs
    "boiler": {
        "open": [
            "Great question!",
            "Certainly! Here's a quick answer about {about}:",
            "Absolutely! I'd be happy to help.",
            "What a fantastic question!",
            "Of course! Here's what you need to know.",
            "Sure thing! Let me explain.",
            "Thanks for the question!",
            "That's an excellent question!",
            "Sure! I'd be glad to help.",
            'Great question! Let me explain.',
        ],
        "body": [],
        "close": [
            "I hope this helps! Let me know if you have any other questions.",
            "Is there anything else I can help you with?",
            "Feel free to ask if you need more information about {about}!",
            "Happy to help!",
            "I hope you found this useful!",
            "Don't hesitate to reach out with more questions.",
            "Let me know if you need any further assistance.",
            'Glad I could help!',
            'If you have any other questions, just let me know!',
            'Hope that helps!',
            "I'm here to help if you need anything else.",
        ],
    },
}
