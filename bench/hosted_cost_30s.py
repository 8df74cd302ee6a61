"""What a 30-second YOLO video costs on the hosted reference models, priced from the table.

Runs `aivideo serve` against the test suite's local fakes of OpenAI and Replicate (no
network, no keys) and prints the cost of each phase and of the video. The fake planner
splits the video into 10 s beats (a 5 s beat where needed).
Run: .venv/bin/python bench/hosted_cost_30s.py [--duration 30]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fake_hosted import running_fake_hosted
from tests.service_process import serving
from tests.test_hosted_models import HOSTED, OPENAI_KEY, TOKEN, Service, hosted_env

PROMPT = "A lighthouse keeper befriends a storm. Waves climb the cliffs. Dawn finally breaks."


async def main(duration: int) -> None:
    async with running_fake_hosted(token=TOKEN, openai_key=OPENAI_KEY) as fake:
        async with serving(Path(tempfile.mkdtemp()), env=hosted_env(fake)) as url:
            async with httpx.AsyncClient(base_url=url, timeout=60) as http:
                service = Service(url=url, http=http, key=None)
                video_id = await service.create(
                    PROMPT, durationSeconds=duration, autoContinue=True, generation=HOSTED
                )
                video = await service.settled(video_id, "COMPLETE", "FAILED")
    print(f"{duration} s video on {', '.join(HOSTED.values())}: {video['status']}")
    for checkpoint in video["checkpoints"]:
        parts = ", ".join(
            f"{a['key']} ${a['costUsd']:.4f}" for a in checkpoint["artifacts"] if a["costUsd"]
        )
        print(f"  phase {checkpoint['phase']}: ${checkpoint['costUsd']:.4f} ({parts})")
    print(f"  video costUsd: ${video['costUsd']:.4f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=30)
    asyncio.run(main(parser.parse_args().duration))
