"""A short sample of scripts/adversarial.py inside the suite (`make adversarial` runs it all):
each sampled case, a subprocess, must be clean - expected status, one stderr line, no
traceback or validation message, the user's files unchanged, no temporary files left."""

import importlib.util
import sys

from .helpers import ROOT

SAMPLE = 40
# every class but 1: its cases send a real SIGINT after a delay, so what they hit depends on the
# machine's load; class 1 is tested statement by statement by tests/interrupt_sweep.py and with
# real SIGINTs in tests/test_reliability_engine.py, and `make adversarial` runs these cases too
# H: the hardening classes (shaders, converter, cache, streams, leftovers, messages, graphs)
CLASSES = "2,3,4,5,6,7,8,9,10,11,H1,H2,H3,H4,H6,H8,H9"


def test_a_sample_of_the_adversarial_pass_is_clean(capsys):
    spec = importlib.util.spec_from_file_location(
        "adversarial", ROOT / "scripts" / "adversarial.py"
    )
    adversarial = importlib.util.module_from_spec(spec)
    sys.modules["adversarial"] = adversarial  # its dataclasses look their module up
    spec.loader.exec_module(adversarial)
    status = adversarial.main(["--sample", str(SAMPLE), "--classes", CLASSES, "--seed", "3"])
    out = capsys.readouterr().out
    assert f"{SAMPLE} cases tried / {SAMPLE} clean" in out, out
    assert status == 0
