"""Chained coroutines: a result, then an exception, travel back up an await.

``print_sum`` awaits ``compute``, which awaits a one-second sleep: one task, three
levels deep. When the sleep ends, ``compute`` *returns* ``x + y`` and the value
appears as the result of ``await compute(...)`` in ``print_sum``. The second call
passes a string; ``compute`` *raises* ``TypeError``, which leaves ``compute``,
passes through ``print_sum`` (no handler there) and is caught in ``main``.
"""

import asyncio

from coroscope.demos.stage import publish


async def compute(x, y):
    print(f"Compute {x} + {y} ...")
    await asyncio.sleep(1.0)
    return x + y


async def print_sum(x, y):
    result = await compute(x, y)
    publish("chain", ("returned", f"compute({x!r}, {y!r})", repr(result)))
    print(f"{x} + {y} = {result}")


async def main():
    await print_sum(1, 2)
    try:
        await print_sum(1, "two")
    except TypeError as exc:
        publish("chain", ("raised", "compute(1, 'two')", f"TypeError: {exc}"))
        print(f"main caught TypeError: {exc}")


if __name__ == "__main__":
    asyncio.run(main())
