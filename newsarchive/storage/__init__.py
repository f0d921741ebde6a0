"""Where archive files end up: in place for a local archive; for ``s3://``, a local spool
whose closed files are uploaded, verified and then removed (README, "Archiving to S3")."""
