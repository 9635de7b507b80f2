"""``tandem`` starts without building rfc3987_syntax's parsers, and validates alike."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from tandem.quick_start import defer_iri_parsers
defer_iri_parsers()
import jsonschema, jupyter_server.serverapp
print(int("rfc3987_syntax.syntax_helpers" in sys.modules))
checker = jsonschema.FormatChecker()
cases = ["http://\u00fc.example/a?b#c", "::not an iri", "", "a b", "urn:x"]
print(*(int(checker.conforms(c, f)) for c in cases for f in ("iri", "iri-reference")))
from rfc3987_syntax.syntax_helpers import is_valid_syntax  # the real module, built
print(*(int(is_valid_syntax(t, c)) for c in cases for t in ("iri", "iri_reference")))
"""


def test_the_parsers_are_built_only_when_used_and_judge_the_same():
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    built_at_start, by_jsonschema, by_the_real_module = done.stdout.splitlines()
    assert built_at_start == "0"
    assert by_jsonschema == by_the_real_module
    assert "0" in by_jsonschema and "1" in by_jsonschema


SERVE = """
import sys, types
def serve(*args):
    import jupyter_server.serverapp
    print(int("rfc3987_syntax.syntax_helpers" in sys.modules))
for name, attr in (("tandem.app", "launch_new_instance"), ("tandem.lab_launch", "launch")):
    stand_in = types.ModuleType(name)
    setattr(stand_in, attr, serve)
    sys.modules[name] = stand_in
import tandem
tandem.lab_launch = sys.modules["tandem.lab_launch"]
from tandem.cli import main
main(sys.argv[1:])
"""


def test_the_tandem_command_defers_them_before_it_serves(tmp_path):
    for argv in ([str(tmp_path)], ["lab", str(tmp_path)]):
        done = subprocess.run(
            [sys.executable, "-c", SERVE, *argv], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["0"], argv
