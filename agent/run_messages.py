"""What `dlbot run` and ``watch`` say on stderr: each one line, beside the training output."""

USAGE = "usage: dlbot run [--name NAME] -- COMMAND [ARGS...]"
NO_SERVER = (
    "dlbot run: DLBOT_SERVER_URL and DLBOT_AGENT_TOKEN are not set; events stay in "
    "this host's spool for its agent to deliver."
)
CANNOT_START = "dlbot run: cannot start {command!r}: {reason}"
NOT_REPORTED = "dlbot: {problem}; {what} runs, but is not reported"
SPOOL_UNUSABLE = "cannot use the spool {path} ({reason})"
SPOOL_FAILED = "writing to the spool {path} failed ({reason})"
NOT_DELIVERED = (
    "dlbot: {count} run event(s) not delivered yet ({reason}); a background sender will retry"
)
NOT_DELIVERED_KEPT = (
    "dlbot: {count} run event(s) not delivered ({reason}); they stay in {path} for this "
    "host's agent"
)
NO_ANSWER_YET = "no answer from the server yet"
PROGRESS_FAILED = "dlbot: progress() failed and was ignored; the run goes on (said once a run)"
