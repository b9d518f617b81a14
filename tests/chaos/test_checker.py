#!/usr/bin/env python3
"""The chaos test's leave check (chaos.leave_problems) on transcripts written
by hand: what it must accept and what it must report. No process is started.

A member of a killed node that comes back on another node, which is then
killed too within the check's window, is rightly heard leaving once per
death (seed 33 did this: n0 killed, its members back on n2, n2 killed 21 s
later); each leave belongs to its own kill. A leave after the member is
back with no second death, two leaves for one death, or none, stay
reported."""
import os
import sys
import unittest
from types import SimpleNamespace

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chaos  # noqa: E402


def client(nick, room, got=(), present=None, visits=()):
    return SimpleNamespace(nick=nick, room=room, got=list(got), present=present or [[0.0, None, "n1"]],
                           visits=list(visits))


class LeaveCheck(unittest.TestCase):
    def test_back_on_a_node_killed_in_turn_is_heard_leaving_once_per_death(self):
        # c0 on n0, killed at 66; back on n2 at 67; n2 killed at 87; back on n0.
        member = client("c0", "alpha", present=[[1.0, 66.0, "n0"], [67.2, 87.0, "n2"], [88.3, None, "n0"]],
                        visits=[(0.5, "n0"), (66.1, "n2"), (87.1, "n0")])
        observer = client("c16", "alpha", got=[
            (67.1, "* c0 left (server lost)"), (67.2, "* c0 joined"),
            (88.2, "* c0 left (server lost)"), (88.3, "* c0 joined")])
        kills = [(66.0, "n0", {"c0": "alpha"}), (87.0, "n2", {"c0": "alpha"})]
        self.assertEqual(chaos.leave_problems(kills, [member, observer], 0.0), [])

    def test_killed_again_just_after_it_reconnected_is_still_that_kill(self):
        # The second kill's member list has it, though its connection there
        # was recorded a moment after the kill time.
        member = client("c10", "bravo", visits=[(0.5, "n2"), (87.1, "n0"), (109.2, "n2")])
        observer = client("c2", "bravo", got=[
            (88.2, "* c10 left (server lost)"), (88.3, "* c10 joined"),
            (110.3, "* c10 left (server lost)"), (110.4, "* c10 joined")])
        kills = [(87.0, "n2", {"c10": "bravo"}), (109.1, "n0", {"c10": "bravo"})]
        self.assertEqual(chaos.leave_problems(kills, [member, observer], 0.0), [])

    def test_a_leave_after_the_return_without_a_second_death_is_reported(self):
        member = client("c4", "alpha", visits=[(0.5, "n0"), (66.1, "n2")])
        observer = client("c16", "alpha", got=[
            (67.1, "* c4 left (server lost)"), (67.2, "* c4 joined"), (69.0, "* c4 left (server lost)")])
        kills = [(66.0, "n0", {"c4": "alpha"})]
        problems = chaos.leave_problems(kills, [member, observer], 0.0)
        self.assertEqual(len(problems), 1)
        self.assertIn("after it was back", problems[0])

    def test_a_leave_heard_only_after_the_return_is_reported(self):
        member = client("c4", "alpha", visits=[(0.5, "n0"), (66.1, "n2")])
        observer = client("c16", "alpha", got=[(67.2, "* c4 joined"), (67.3, "* c4 left (server lost)")])
        kills = [(66.0, "n0", {"c4": "alpha"})]
        problems = chaos.leave_problems(kills, [member, observer], 0.0)
        self.assertTrue(problems)
        self.assertTrue(all("after it was back" in p for p in problems))

    def test_one_death_heard_twice_or_never_is_reported(self):
        member = client("c4", "alpha", visits=[(0.5, "n0")])
        twice = client("c16", "alpha", got=[(67.1, "* c4 left (server lost)"), (67.5, "* c4 left (server lost)")])
        never = client("c20", "alpha", got=[(67.1, "* c8 left (server lost)")])
        kills = [(66.0, "n0", {"c4": "alpha"})]
        problems = chaos.leave_problems(kills, [member, twice, never], 0.0)
        self.assertEqual(sorted(problems), ["c16 heard c4 leave 2 times after n0 was killed at 66.0 s",
                                            "c20 heard c4 leave 0 times after n0 was killed at 66.0 s"])

    def test_observers_on_the_killed_node_or_not_there_throughout_are_not_judged(self):
        member = client("c4", "alpha", visits=[(0.5, "n0")])
        same_node = client("c8", "alpha", present=[[1.0, 66.0, "n0"], [67.0, None, "n1"]])
        late = client("c12", "alpha", present=[[70.0, None, "n1"]])
        kills = [(66.0, "n0", {"c4": "alpha"})]
        self.assertEqual(chaos.leave_problems(kills, [member, same_node, late], 0.0), [])


if __name__ == "__main__":
    unittest.main()
