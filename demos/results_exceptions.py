"""Results and exceptions travel up an await chain, one level at a time.

One task, three levels deep: ``main`` awaits ``double``, which awaits
``read_sensor``, which awaits a Future that a callback completes later. A
``return`` becomes the value of the ``await`` one level up; a ``raise`` leaves
its level and is raised at the ``await`` above it, level after level, until
something catches it. The tutorial's four bullets, one by one:

* ``value = await future``: ``read_sensor`` parks on a Future until a callback
  (standing in for I/O) sets its result, or sets an exception instead;
* ``value = await coroutine``: ``double`` awaits ``read_sensor``, which runs inside
  the same task; no new task is made;
* ``return value``: each level's return becomes the value of the ``await`` above;
* ``raise``: an exception leaves a level and is raised at the ``await`` above it,
  level after level, until ``main`` catches it.

Watch the stage: the boxes are ``main``'s await chain; each value or exception
is shown as it climbs. A task stores its outcome too: awaiting a failed task
raises its exception again, wherever you await it.
"""

import asyncio

from coroscope.demos.stage import publish


class SensorError(Exception):
    pass


def deliver(future, name):
    """The 'I/O' side: complete the future with a value, or with an exception."""
    if name == "broken":
        future.set_exception(SensorError(f"sensor {name!r} did not answer"))
    else:
        future.set_result(21)


async def climb(level, outcome, pace):
    publish("chain", outcome)
    print(f"  {level}: {outcome[0]} {outcome[2]}")
    await asyncio.sleep(pace)  # a pause so you can watch it climb


async def read_sensor(name, pace):
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    loop.call_later(pace, deliver, future, name)
    try:
        value = await future  # result = await future
    except SensorError as exc:
        await climb("read_sensor", ("raised", f"read_sensor({name!r})", repr(exc)), pace)
        raise
    await climb("read_sensor", ("returned", f"read_sensor({name!r})", repr(value)), pace)
    return value


async def double(name, pace):
    value = await read_sensor(name, pace)  # result = await coroutine
    await climb("double", ("returned", f"double({name!r})", repr(value * 2)), pace)
    return value * 2  # the return value goes up one level


async def main(pace=0.7):
    print("good sensor:")
    print(f"main got {await double('good', pace)}")
    print("broken sensor:")
    try:
        await double("broken", pace)  # raise: passes through double untouched
    except SensorError as exc:
        publish("chain", ("raised", "double('broken')", f"caught in main: {exc!r}"))
        print(f"main caught {exc!r}")
    print("a failed task keeps its exception:")
    task = asyncio.create_task(double("broken", pace), name="failing")
    await asyncio.wait([task])
    print(f"task.exception() is {task.exception()!r}")
    try:
        await task
    except SensorError:
        print("awaiting the task raises it again")


if __name__ == "__main__":
    asyncio.run(main())
