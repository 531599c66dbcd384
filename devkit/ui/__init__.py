"""`devkit ui`: the dev loop and the environments in a browser, served on 127.0.0.1 only.

`server.py` serves one page (static/) behind a random token and pushes the dev loop's events
(devkit/devloop/events.py) to it by server-sent events; `snapshot.py` turns a plan into what the
page lists; `feeds.py` polls status and follows logs through the target's capabilities;
`environments.py` reads each environment's releases and cost and runs promote or rollback.
"""
