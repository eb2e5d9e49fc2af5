"""A local Kafka of one node and one of three are written by the same code: each node knows
the whole quorum, and the replication defaults follow the node count (every topic on all
nodes, a write acknowledged by a majority). Writes configuration files only; starts nothing."""

from pathlib import Path

from kpi_localinfra import KafkaCluster


def _config(cluster: KafkaCluster, node: int) -> dict[str, str]:
    server = cluster.nodes[node]
    server.data_dir.mkdir(parents=True)
    server._write_config()
    lines = server.config_file.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines)


def test_three_nodes_share_one_quorum_and_replicate_to_a_majority(tmp_path: Path) -> None:
    cluster = KafkaCluster(tmp_path, [(9101, 9102), (9103, 9104), (9105, 9106)])
    voters = "1@127.0.0.1:9102,2@127.0.0.1:9104,3@127.0.0.1:9106"
    assert cluster.bootstrap == "127.0.0.1:9101,127.0.0.1:9103,127.0.0.1:9105"
    for node in (1, 2, 3):
        config = _config(cluster, node)
        assert config["node.id"] == str(node)
        assert config["controller.quorum.voters"] == voters
        assert config["process.roles"] == "broker,controller"
        for key in (
            "default.replication.factor",
            "offsets.topic.replication.factor",
            "transaction.state.log.replication.factor",
        ):
            assert config[key] == "3", key
        assert config["min.insync.replicas"] == config["transaction.state.log.min.isr"] == "2"
        assert config["unclean.leader.election.enable"] == "false"


def test_one_node_is_the_single_broker_it_always_was(tmp_path: Path) -> None:
    cluster = KafkaCluster(tmp_path, [(9201, 9202)])
    config = _config(cluster, 1)
    assert cluster.bootstrap == "127.0.0.1:9201"
    assert config["node.id"] == "1"
    assert config["controller.quorum.voters"] == "1@127.0.0.1:9202"
    assert config["default.replication.factor"] == config["min.insync.replicas"] == "1"
