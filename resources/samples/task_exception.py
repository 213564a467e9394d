"""A task raises: its lane turns red with the exception (its tooltip says where),
the other task carries on, and main catches the exception when it awaits it."""

import asyncio


async def divide(a, b):
    await asyncio.sleep(1)
    return a / b


async def steady():
    for number in range(3):
        await asyncio.sleep(0.75)
        print(f"steady tick {number}")


async def main():
    broken = asyncio.create_task(divide(1, 0), name="divide")
    fine = asyncio.create_task(steady(), name="steady")
    await fine
    try:
        await broken
    except ZeroDivisionError as exc:
        print(f"main saw: {exc!r}")


asyncio.run(main())
