"""``python -m calibprune.study``: run, shard and report calibration studies."""

import sys

from calibprune.study.commands import main

if __name__ == "__main__":
    main(sys.argv[1:])
