"""Words shared by the offline reasoners: kinds of fault, names, and text that is not evidence.

A *kind* is a family of faults and of changes that cause them (TLS, DNS, network, database,
capacity, ...). The same vocabulary reads symptoms (log templates, alert names) and changes
(their own text, category and CI class), so "the change is about what the errors are about"
is a set intersection, not a rule per incident. The words are general operations vocabulary,
not taken from any incident.

Text that names a change number (`CHG0031042`) in a log line, an alert or a ticket is never
evidence: `names_a_change` finds it and callers drop it, so nobody can point the agents at a
change, or away from one, by writing its number somewhere.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Iterable

KINDS: dict[str, tuple[str, ...]] = {
    "tls": (
        r"certificates?",
        r"cert",
        r"x\.?509",
        r"tls",
        r"ssl",
        r"handshake",
        r"pkix",
        r"ca bundle",
        r"truststore",
        r"keystore",
        r"cmdb_ci_certificate",
    ),
    "dns": (
        r"dns",
        r"nxdomain",
        r"servfail",
        r"resolv\w*",
        r"name resolution",
        r"no such host",
        r"unknownhost\w*",
        r"nameservers?",
        r"cname",
        r"(?:dns|hosted|private|public|forward|reverse|stub) zones?",
        r"zones? (?:files?|transfers?|delegations?|records?|apex)",
        r"ttl",
        r"getaddrinfo",
        r"cmdb_ci_dns\w*",
    ),
    "network": (
        r"firewall",
        r"acl",
        r"security group",
        r"iptables",
        r"(?:static|default|bgp|ip|host) routes?",
        r"route (?:tables?|maps?|advertisements?|leaks?|reflectors?)",
        r"routing",
        r"bgp",
        r"vlan",
        r"subnet",
        r"no route to host",
        r"unreachable",
        r"link (?:down|flap\w*|failure)",
        r"interface down",
        r"carrier (?:lost|down)",
        r"optics?",
        r"transceivers?",
        r"crc errors?",
        r"uplinks?",
        r"network partition",
        r"connection reset",
        r"reset by peer",
        r"packet loss",
        r"mtu",
        r"(?:network|leaf|spine|core|access|edge|tor|top-of-rack|distribution) switch(?:es)?",
        r"switch ?ports?",
        r"switches",
        r"routers?",
        r"cmdb_ci_ip_\w+",
        r"cmdb_ci_netgear",
    ),
    "loadbalancer": (
        r"load ?balancer",
        r"lb",
        r"haproxy",
        r"nginx",
        r"envoy",
        r"backend",
        r"upstream",
        r"health ?checks?",
        r"pool members?",
        r"removing host",
        r"cmdb_ci_lb\w*",
    ),
    "database": (
        r"database",
        r"db",
        r"sql",
        r"postgres\w*",
        r"mysql",
        r"oracle",
        r"jdbc",
        r"deadlock",
        r"replica\w*",
        r"replication",
        r"schema",
        r"migration",
        r"indexes",
        r"indices",
        r"reindex\w*",
        r"(?:missing|unique|btree|gin|db|database|table|secondary|composite|partial) index",
        r"index (?:on|scan|rebuild|bloat|creation|build|lock)\w*",
        r"query",
        r"queries",
        r"table",
        r"transaction",
        r"failover",
        r"primary",
        r"cmdb_ci_db\w*",
    ),
    "capacity": (
        r"(?:connection|thread|worker|db|database|session) pool",
        r"pool (?:size|max\w*|min\w*|limit|exhausted)",
        r"max(?:imum)? pool",
        r"exhausted",
        r"too many connections",
        r"too many clients",
        r"(?:remaining )?connection slots",
        r"max_?connections",
        r"no space left",
        r"disk full",
        r"quota",
        r"rate.?limit\w*",
        r"throttl\w*",
        r"capacity",
        r"limit reached",
        r"limit exceeded",
        r"out of memory",
        r"oom\w*",
        r"heap",
        r"memory",
        r"saturat\w*",
        r"queue full",
        r"backlog",
        r"file descriptors",
        r"too many open files",
        r"connection is not available",
        r"autoscal\w*",
        r"(?:desired|min|max|target) replicas",
        r"replica count",
        r"scal(?:e|ed|ing) (?:up|down|out|in)",
    ),
    "config": (
        r"config\w*",
        r"settings?",
        r"propert(?:y|ies)",
        r"parameters?",
        r"configmap",
        r"environment variables?",
        r"yaml",
        r"invalid value",
        r"missing key",
        r"unknown key",
        r"flags?",
        r"jvm",
        r"-xx:\S*",
        r"-xm[sx]\S*",
    ),
    "feature_flag": (
        r"feature.?flags?",
        r"feature.?toggles?",
        r"toggles?",
        r"launchdarkly",
        r"unleash",
        r"experiment",
        r"dark launch",
        r"kill.?switch",
    ),
    "deploy": (
        r"deploy\w*",
        r"release",
        r"rollout",
        r"image",
        r"build",
        r"version",
        r"upgrade\w*",
        r"package",
        r"library",
        r"dependency",
        r"classnotfound\w*",
        r"nosuchmethod\w*",
        r"nosuchfield\w*",
        r"incompatible",
        r"canary",
        r"hotfix",
    ),
    "auth": (
        r"auth",
        r"authn",
        r"authz",
        r"authenticat\w*",
        r"auth(?:entication|orization|orisation)? (?:failed|failure|error|denied|token|header)s?",
        r"(?:not|un)authori[sz]ed",
        r"forbidden",
        r"permission denied",
        r"credentials?",
        r"passwords?",
        r"tokens?",
        r"oauth",
        r"saml",
        r"ldap",
        r"secrets?",
        r"api keys?",
        r"iam",
        r"rbac",
    ),
    "storage": (
        r"disk",
        r"volume",
        r"filesystem",
        r"nfs",
        r"s3",
        r"bucket",
        r"storage",
        r"i/o error",
        r"read-only file system",
        r"san",
    ),
    "platform": (
        r"kernel",
        r"node ?pools?",
        r"(?:worker|k8s|kubernetes|cluster|compute|gpu) nodes?",
        r"nodes? (?:drain\w*|cordon\w*|reboot\w*|images?|upgrades?|patch\w*)",
        r"os patch\w*",
        r"patch\w*",
        r"reboot\w*",
        r"drain\w*",
        r"evict\w*",
        r"kubelet",
        r"hypervisor",
        r"firmware",
        r"cmdb_ci_kubernetes\w*",
        r"cmdb_ci_server",
        r"cmdb_ci_linux_server",
        r"cmdb_ci_vm\w*",
    ),
    "email": (
        r"smtp",
        r"mail ?relay",
        r"relay ?host",
        r"mta",
        r"postfix",
        r"sendmail",
        r"exim",
        r"imap",
        r"dkim",
        r"dmarc",
        r"mailbox\w*",
    ),
    "facility": (
        r"ups (?:on )?battery",
        r"ups (?:alarm|fault|failure|output|bypass)",
        r"utility (?:feeds?|power)",
        r"(?:diesel|backup|standby) generators?",
        r"generators? (?:power|start\w*)",
        r"on generator(?: power)?",
        r"pdus?",
        r"power (?:loss|lost|failure|outage|feeds?|supply|cut)",
        r"(?:on|ups) battery",
        r"battery exhausted",
        r"breakers? tripped",
        r"cooling (?:failure|loss|unit)",
        r"hvac",
        r"chillers?",
        r"transfer switch",
    ),
    "cache": (r"cache", r"redis", r"memcached?", r"evicted keys", r"cache miss\w*"),
    "messaging": (
        r"kafka",
        r"rabbitmq",
        r"queue",
        r"broker",
        r"topics?",
        r"consumer (?:lag|groups?)",
        r"(?:topic|kafka) partitions?",
        r"partitions? (?:leader\w*|rebalanc\w*|reassign\w*|offline|lag)",
        r"amqp",
    ),
}
"""Kind -> word patterns (whole words, case-insensitive)."""

_KIND_RE = {
    kind: re.compile(r"(?<![\w])(?:" + "|".join(words) + r")(?![\w])", re.IGNORECASE)
    for kind, words in KINDS.items()
}

CHANGE_NUMBER = re.compile(r"\b[A-Z]{2,8}[-_]?[0-9]{4,12}\b")
"""A ticket number as ITSM tools write them: CHG0031042, INC0104417, RFC-12345."""

_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[._-][A-Za-z0-9]+)*")
_SUBWORD = re.compile(r"[a-z][a-z0-9]*")
STOPWORDS = frozenset(
    """
    a an and are as at be been being but by can could did do does done for from had has have
    in into is it its may no not of on or our out over per so than that the their them then
    there these this those to too up via was we were what when where which while who will
    with within without would you your all any each new old now after before during
    error errors err fail failed failure failing warn warning info debug ok true false null
    none request requests response responses call calls called service services server
    servers client clients app application api http https get post put delete status code
    time timeout timed retry retries retrying attempt attempts after ms sec secs seconds
    minutes min msg message log logs line lines value values using use used set update
    updated change changes changed normal standard emergency prod production staging env
    environment team user users id ids one two three first last more less high low medium
    deploy deployed deploying deployment release released version upgrade upgraded rollout
    rolled build patch patched fix fixed add added remove removed enable enabled disable
    """.split()  # noqa: SIM905 (a word list reads best as text)
)
"""Words too common in logs and tickets to link a change to a symptom."""


_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def kinds(text: str) -> set[str]:
    """The fault kinds a text speaks of (`TLSHandshakeFailed` reads as TLS handshake failed)."""
    text = f"{text}\n{_CAMEL.sub(' ', text)}"
    return {kind for kind, pattern in _KIND_RE.items() if pattern.search(text)}


_WORD_RE = {
    kind: [re.compile(r"(?<![\w])(?:" + word + r")(?![\w])", re.IGNORECASE) for word in words]
    for kind, words in KINDS.items()
}


def kind_words(text: str) -> set[tuple[str, int]]:
    """Which words of which kinds a text uses, as (kind, index in `KINDS[kind]`): two texts
    using the same word of a broad kind (`mtu`, `max_connections`) share more than the kind."""
    text = f"{text}\n{_CAMEL.sub(' ', text)}"
    return {
        (kind, i)
        for kind, pattern in _KIND_RE.items()
        if pattern.search(text)
        for i, word in enumerate(_WORD_RE[kind])
        if word.search(text)
    }


def names_a_change(text: str) -> bool:
    """Whether a text names a ticket number (then it is never evidence)."""
    return CHANGE_NUMBER.search(text) is not None


def without_change_numbers(text: str) -> str:
    return CHANGE_NUMBER.sub(" ", text)


def terms(text: str) -> set[str]:
    """Distinctive words of a text: lower-cased sub-words of 3+ letters, not stop words,
    never a ticket number. `checkout.HikariPool-1` gives {checkout, hikaripool}."""
    out: set[str] = set()
    for token in _TOKEN.findall(without_change_numbers(text)):
        words = _SUBWORD.findall(token.lower())
        # a code identifier counts whole and by its long parts: `MonthEndAccrualJob` is
        # {monthendaccrualjob, month, accrual}, `BigDecimal` {bigdecimal, decimal}
        words += [w for w in _SUBWORD.findall(_CAMEL.sub(" ", token).lower()) if len(w) >= 5]
        for word in words:
            if len(word) >= 3 and word not in STOPWORDS and not word.isdigit():
                out.add(_singular(word))
    return out


def _singular(word: str) -> str:
    """`snapshots` and `snapshot` are one term (a plain plural only; both sides of every
    comparison go through it, so an odd stem such as `statu` still matches itself)."""
    if len(word) >= 5 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def without_names(text: str, names: Collection[str]) -> str:
    """`text` with the given names (CI names) blanked out, longest first."""
    lower = text.lower()
    for name in sorted((n for n in names if len(n) >= 3), key=len, reverse=True):
        if name.lower() in lower:
            text = re.sub(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", " ", text, flags=re.I)
            lower = text.lower()
    return text


@functools.lru_cache(maxsize=8192)
def norm(name: str) -> str:
    """A name as CI and component names are compared: `Checkout.API` -> `checkout-api`."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def same_thing(component: str, ci_name: str, among: Collection[str] = ()) -> bool:
    """Whether a log component (logger, service, pod) names a CI: equal once normalised, or
    one is the other plus a suffix (`checkout-api-7f9c5` is a pod of `checkout-api`).

    `among`: the other CI names in play. A component that is, or extends, a longer one of
    them names that one, not this (`reporting-db-replica` is not `reporting-db`); a short
    component that several of them extend names none (`payments`: `payments-api` or
    `payments-db`?)."""
    a, b = norm(component), norm(ci_name)
    if not a or not b:
        return False
    if a == b:
        return True
    longer = [n for n in map(norm, among) if n != b and n.startswith(b + "-")]
    if a.startswith(b + "-"):
        return not any(a == n or a.startswith(n + "-") for n in longer)
    if len(a) >= 4 and b.startswith(a + "-"):
        return sum(1 for n in {*map(norm, among), b} if n.startswith(a + "-")) == 1
    return False


def mentions(text: str, ci_name: str, among: Collection[str] = ()) -> bool:
    """Whether a text names a CI as a whole word (`payments-db` in 'connect to payments-db'),
    not as part of a longer CI name in `among` (`reporting-db` in `reporting-db-replica`)."""
    name = norm(ci_name)
    if len(name) < 4:
        return False
    flat = norm(text)
    for other in map(norm, among):
        if other != name and other.startswith(name + "-"):
            flat = re.sub(rf"(?<![a-z0-9]){re.escape(other)}(?![a-z0-9])", " ", flat)
    return re.search(rf"(?<![a-z0-9]){re.escape(name)}(?![a-z0-9])", flat) is not None


_HOST = re.compile(
    r"(?<![\w.-])(?:(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.){2,}[a-z]{2,24}"
    r"|(?:\d{1,3}\.){3}\d{1,3})(?![\w-])",
    re.I,
)


def hosts(text: str) -> set[str]:
    """Host names (two dots or more: `api.acquirer-partner.example`) and IPv4 addresses a
    text names: how a CMDB record says where a CI answers."""
    return {h.lower() for h in _HOST.findall(text)}


def versions(text: str) -> set[str]:
    """Version strings a text carries (`4.18.0`, `v2.3`)."""
    return set(re.findall(r"(?<![\w.])v?(\d+\.\d+(?:\.\d+)*)(?![\w.])", text))


_RELEASE_WORDS = re.compile(r"\b(?:deploy\w*|release\w*|rollout|upgrade\w*|image)\b", re.I)
_VERSION = re.compile(r"(?<![\w.])v?\d+\.\d+(?:\.\d+)*(?![\w.])")


def is_release(title: str) -> bool:
    """Whether a change title ships a new build of its CI: a version (`edge-cache 24.19.3`,
    `Deploy pricing-service 2.31.0`) or an image (`Base image refresh for quote-service`)."""
    title = without_change_numbers(title)
    if _VERSION.search(title):
        return True
    return _RELEASE_WORDS.search(title) is not None and "image" in title.lower()


_INERT = re.compile(
    r"\b(?:readme|docs?|documentation|runbooks?|dashboards?|wiki|on-?call|rota|escalation"
    r"|contacts?|alert(?:ing)? (?:thresholds?|rules?|routing)|typos?|comments?)\b",
    re.I,
)


def is_inert(title: str) -> bool:
    """Whether a change title only touches what does not run: documentation, dashboards,
    runbooks, alert thresholds, the on-call rota (`Update Grafana dashboards for X`). A
    release, or a title that also speaks of a fault kind, is never inert."""
    if not _INERT.search(title) or is_release(title):
        return False
    return not kinds(_INERT.sub(" ", title)) - {"config"}


def joined(parts: Iterable[str | None]) -> str:
    return "\n".join(p for p in parts if p)
