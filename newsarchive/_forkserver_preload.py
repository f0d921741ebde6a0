"""Imported once by the extraction pool's fork server (see ``extract.pool_context``): every
worker forked from it starts with trafilatura imported and its models loaded, instead of
paying that (a second or two of CPU) itself."""

from newsarchive.extract import warm_up

warm_up()
