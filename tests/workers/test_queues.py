from __future__ import annotations

import workers.documents  # noqa: F401 - registers the tasks
from workers.app import app
from workers.queues import QUEUE_NAMES, TASK_QUEUES


def our_tasks() -> list[str]:
    app.loader.import_default_modules()  # every module in the app's include list
    return sorted(name for name in app.tasks if name.startswith("papeleo."))


def test_every_task_is_routed_to_a_declared_queue():
    assert our_tasks(), "no papeleo tasks registered"
    for name in our_tasks():
        route = app.amqp.router.route({}, name)
        assert route["queue"].name in QUEUE_NAMES, f"{name} routed to {route['queue'].name}"
        assert name in TASK_QUEUES, f"{name} has no entry in the queue table"


def test_the_queue_table_names_only_declared_queues_and_existing_tasks():
    assert set(TASK_QUEUES.values()) <= set(QUEUE_NAMES)
    assert set(TASK_QUEUES) <= set(our_tasks())


def test_declared_queues_are_the_only_ones_the_app_knows():
    assert {q.name for q in app.conf.task_queues} == set(QUEUE_NAMES)
    assert app.conf.task_create_missing_queues is False
    assert app.conf.task_default_queue in QUEUE_NAMES


def test_the_document_chain_runs_on_its_own_queues():
    from workers.documents import document_chain

    chain = document_chain("0" * 32)
    names = [task.task for task in chain.tasks]
    assert [TASK_QUEUES[n] for n in names] == ["normalize", "ocr", "classify", "index", "notify"]
    for task in chain.tasks:
        assert task.args == ("0" * 32,), "task arguments must be ids only"
