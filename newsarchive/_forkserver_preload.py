"""Imported once by the extraction pool's fork server (see ``extract.pool_context``): every
worker forked from it starts with trafilatura imported and its models loaded, instead of
paying that (a second or two of CPU) itself.

The fork server only starts ignoring SIGINT after its preload; a Ctrl-C to the process group
during these first seconds would kill it, and with it every future worker. Ignore it now:
the crawler turns Ctrl-C into a clean shutdown that still needs the workers."""

import signal

signal.signal(signal.SIGINT, signal.SIG_IGN)

from newsarchive.extract import warm_up  # noqa: E402 - after the signal is ignored

warm_up()
