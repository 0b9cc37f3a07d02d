"""Docs that cannot drift: the README's command synopsis (its `direct-oauth-admin …`
lines) names every flag of every admin command (as `direct-oauth-admin … --help` lists
them), and docs/development.md names every sample event scenario in events/."""

import functools
import glob
import os
import re
import subprocess

import built

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Flags every command has: clap's own, and the global ones the README explains once.
EVERYWHERE = {"--help", "--version", "--stack", "--output"}


def read(path):
    with open(os.path.join(ROOT, path)) as f:
        return f.read()


@functools.cache
def admin_help(*words):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIRECT_OAUTH_")}
    env.update(AWS_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")
    return subprocess.run(
        [built.binary("direct-oauth-admin"), *words, "--help"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def subcommands(*words):
    text = admin_help(*words)
    if "Commands:" not in text:
        return []
    block = text.split("Commands:", 1)[1].split("\n\n", 1)[0]
    names = [line.split()[0] for line in block.splitlines() if line.strip()]
    return [n for n in names if n != "help"]


def commands(*words):
    """Every leaf command, as its words."""
    below = subcommands(*words)
    if not below:
        return [words]
    return [leaf for name in below for leaf in commands(*words, name)]


def flags(words):
    return set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", admin_help(*words))) - EVERYWHERE


def synopsis_of(words):
    """The README's synopsis lines of one command (`app add|update` is either's)."""
    found = []
    for line in read("README.md").splitlines():
        if not line.startswith("direct-oauth-admin "):
            continue
        given = line.split()[1:]
        if len(given) >= len(words) and all(
            w in g.split("|") for w, g in zip(words, given, strict=False)
        ):
            found.append(line)
    return "\n".join(found)


def test_the_readme_s_synopsis_names_every_flag_of_every_command():
    missing = {}
    for words in commands():
        synopsis = synopsis_of(words)
        absent = sorted(f for f in flags(words) if f not in synopsis)
        if not synopsis or absent:
            missing[" ".join(words)] = absent or "no synopsis line"
    assert missing == {}, missing
    assert len(commands()) >= 15, commands()


def test_the_development_guide_names_every_sample_event():
    guide = read("docs/development.md")
    scenarios = {
        os.path.splitext(os.path.basename(p))[0]
        for p in glob.glob(os.path.join(ROOT, "events", "**", "*.json"), recursive=True)
    }
    assert len(scenarios) >= 10, scenarios
    missing = sorted(s for s in scenarios if f"`{s}`" not in guide)
    assert missing == [], missing
