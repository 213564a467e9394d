"""aiosqlite: create, fill and query a temporary SQLite database from async code."""

import asyncio
import os
import tempfile

import aiosqlite


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "shop.db")
        async with aiosqlite.connect(path) as db:
            await db.execute("CREATE TABLE fruit (name TEXT PRIMARY KEY, price REAL)")
            await db.executemany(
                "INSERT INTO fruit VALUES (?, ?)",
                [("apple", 0.5), ("banana", 0.25), ("cherry", 3.0)],
            )
            await db.commit()
            async with db.execute("SELECT name, price FROM fruit ORDER BY price") as cursor:
                async for name, price in cursor:
                    print(f"{name}: {price:.2f}")
            async with db.execute("SELECT COUNT(*), SUM(price) FROM fruit") as cursor:
                count, total = await cursor.fetchone()
        print(f"{count} rows, total {total:.2f}")
        assert count == 3
        async with aiosqlite.connect(path) as db:  # the data was committed to disk
            rows = await db.execute_fetchall("SELECT name FROM fruit WHERE price < 1")
        print("cheap:", [name for (name,) in rows])
    print("aiosqlite_db: ok")


if __name__ == "__main__":
    asyncio.run(main())
