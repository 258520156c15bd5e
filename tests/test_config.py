"""Parsing the ipam section in every form users already have."""

from pathlib import Path

import pytest

from macvlan_ipam.core.config import parse_ipam
from macvlan_ipam.core.errors import InvalidConfig
from macvlan_ipam.core.storeconfig import StoreOptions


def test_go_project_readme_config() -> None:
    config = parse_ipam(
        "examplenet",
        {
            "name": "myetcd-ipam",
            "type": "macvlan-ipam-etcd",
            "etcdConfig": {"etcdURL": "http://127.0.0.1:2379"},
            "ranges": [[{"subnet": "203.0.113.0/24"}]],
        },
    )
    assert config.store == {
        "type": "etcd",
        "endpoints": ["http://127.0.0.1:2379"],
    }
    (rangeset,) = config.range_sets
    assert str(rangeset.ranges[0].subnet) == "203.0.113.0/24"


def test_go_project_libcni_config(tmp_path: Path) -> None:
    for name in ("c.pem", "k.pem", "ca.pem"):
        (tmp_path / name).write_text("x")
    config = parse_ipam(
        "mynet",
        {
            "type": "macvlan-ipam-etcd",
            "etcdConfig": {
                "etcdURL": "https://10.0.0.1:2379,https://10.0.0.2:2379",
                "etcdCertFile": str(tmp_path / "c.pem"),
                "etcdKeyFile": str(tmp_path / "k.pem"),
                "etcdTrustedCAFileFile": str(tmp_path / "ca.pem"),
            },
            "subnet": "10.22.0.0/16",
            "rangeStart": "10.22.0.2",
            "rangeEnd": "10.22.0.254",
            "routes": [{"dst": "0.0.0.0/0"}],
        },
    )
    r = config.range_sets[0].ranges[0]
    assert (str(r.start), str(r.end), str(r.gateway)) == (
        "10.22.0.2",
        "10.22.0.254",
        "10.22.0.1",
    )
    assert [str(x.dst) for x in config.routes] == ["0.0.0.0/0"]
    options = StoreOptions.parse(config.store, ())
    assert options.endpoints == (
        "https://10.0.0.1:2379",
        "https://10.0.0.2:2379",
    )
    assert options.tls is not None
    assert options.tls.ca == str(tmp_path / "ca.pem")


def test_whereabouts_range_and_exclude() -> None:
    config = parse_ipam(
        "w",
        {
            "range": "192.168.2.0/28",
            "exclude": ["192.168.2.4/30"],
            "store": {"type": "memory"},
        },
    )
    (rangeset,) = config.range_sets
    usable = [ip for ip in rangeset.ranges[0].subnet if rangeset.usable(ip)]
    assert [str(ip).rsplit(".", 1)[1] for ip in usable] == [
        "2",
        "3",
        "8",
        "9",
        "10",
        "11",
        "12",
        "13",
        "14",
    ]


def test_resolv_conf_becomes_dns(tmp_path: Path) -> None:
    conf = tmp_path / "resolv.conf"
    conf.write_text(
        "# comment\nnameserver 192.0.2.53\nnameserver 2001:db8::53\n"
        "domain example.org\nsearch a.example b.example\noptions ndots:2\n"
    )
    config = parse_ipam(
        "n", {"subnet": "10.0.0.0/24", "resolvConf": str(conf)}
    )
    assert config.dns is not None
    assert config.dns.nameservers == ("192.0.2.53", "2001:db8::53")
    assert config.dns.domain == "example.org"
    assert config.dns.search == ("a.example", "b.example")
    assert config.dns.options == ("ndots:2",)


@pytest.mark.parametrize(
    ("ipam", "message"),
    [
        ({}, "give exactly one of ranges, subnet or range"),
        ({"ranges": "10.0.0.0/24"}, "ipam.ranges: expected a list"),
        (
            {"ranges": [[{"subnet": "10.0.0.0/33"}]]},
            r"ipam.ranges\[0\]\[0\].subnet",
        ),
        (
            {
                "ranges": [
                    [{"subnet": "10.0.0.0/24"}],
                    [{"subnet": "10.0.0.0/25"}],
                ]
            },
            "overlaps",
        ),
        (
            {"subnet": "10.0.0.0/24", "routes": [{"gw": "10.0.0.1"}]},
            r"ipam.routes\[0\]: expected an object with dst",
        ),
        (
            {"subnet": "10.0.0.0/24", "etcdConfig": {}},
            "ipam.etcdConfig.etcdURL",
        ),
        ({"subnet": "10.0.0.0/24", "store": {"type": 3}}, "ipam.store.type"),
        (
            {"subnet": "10.0.0.0/24", "resolvConf": "/nonexistent/resolv"},
            "ipam.resolvConf: cannot read",
        ),
        ({"subnet": "10.0.0.0/24", "exclude": "10.0.0.0/30"}, "ipam.exclude"),
    ],
)
def test_errors_name_the_field(ipam: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidConfig, match=message):
        parse_ipam("n", ipam)


def test_secrets_from_files_never_in_repr(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("hunter2-very-secret\n")
    options = StoreOptions.parse(
        {"type": "etcd", "username": "u", "passwordFile": str(secret)}, ()
    )
    assert options.password == "hunter2-very-secret"
    assert "hunter2" not in repr(options)


def test_store_deadlines_are_validated() -> None:
    with pytest.raises(InvalidConfig, match=r"store\.timeout: must be pos"):
        StoreOptions.parse({"timeout": 0}, ())
    with pytest.raises(InvalidConfig, match=r"store\.tls\.ca: no file"):
        StoreOptions.parse({"tls": {"ca": "/nonexistent/ca.pem"}}, ())
