from __future__ import annotations

from pathlib import Path

from workers.app import celery_config
from workers.settings import Settings


def test_json_only_and_safe_delivery(tmp_path: Path):
    config = celery_config(Settings(data_dir=tmp_path))
    assert config["accept_content"] == ["json"]
    assert config["task_serializer"] == config["result_serializer"] == "json"
    assert config["task_acks_late"] is True
    assert config["task_reject_on_worker_lost"] is True
    assert config["worker_prefetch_multiplier"] == 1
    assert 0 < config["task_soft_time_limit"] < config["task_time_limit"]


def test_filesystem_broker_gets_its_folders(tmp_path: Path):
    config = celery_config(Settings(data_dir=tmp_path, broker_url="filesystem://"))
    options = config["broker_transport_options"]
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        assert Path(options[key]).is_dir()
        assert Path(options[key]).is_relative_to(tmp_path.resolve())


def test_server_brokers_get_no_filesystem_options(tmp_path: Path):
    config = celery_config(Settings(data_dir=tmp_path, broker_url="amqp://guest@localhost//"))
    assert "broker_transport_options" not in config
    assert not (tmp_path / "broker").exists()
