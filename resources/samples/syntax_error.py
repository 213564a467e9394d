"""A syntax error: Coroscope shows the file, the line and a caret, and runs nothing."""

import asyncio


async def main():
    print("this line is missing its closing parenthesis"
    await asyncio.sleep(1)


asyncio.run(main())
