"""main returns while a task it started is still waiting.

asyncio.run() cancels whatever main leaves running, so "report sent" never
prints. The fix: await the task before main returns.
"""

import asyncio


async def send_report():
    await asyncio.sleep(2)
    print("report sent")


async def main():
    report = asyncio.create_task(send_report(), name="send_report")
    await asyncio.sleep(0.5)
    print(f"main returns; the report is done: {report.done()}")


asyncio.run(main())
