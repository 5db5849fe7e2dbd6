"""gunicorn settings for the portal: `gunicorn -c gunicorn.conf.py khoenon.wsgi`.

Two workers for the 2-core commune server, eight threads each: the work is bounded
by the cores, and the threads beyond let a few requests wait for a report file being
built (settings.FILE_WAITERS, 6) while the pages keep theirs. Every value can be
overridden from the environment (GUNICORN_BIND, GUNICORN_WORKERS, GUNICORN_THREADS)."""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
worker_class = "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak can never take the portal down.
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
