"""Run the blog: `python run.py` serves it; `python run.py --help` lists the commands."""

import sys

from blog.cli import main

if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
