"""The GDPR policy pack; the Pulumi CLI runs this file (`--policy-pack policies/packs/gdpr`)."""

import sys
from pathlib import Path

# The CLI starts the pack with its own directory as working directory and its own virtualenv; the rules
# live in the repository this file belongs to, three levels up.
sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from policies.pack import serve

serve("gdpr")
