"""The web console served at `/`: server-rendered pages over the public GraphQL schema.

Every figure a page shows comes from the schema, executed in-process with the viewer's own
identity (quhua/console/gateway.py): the console has no data path and no access check of
its own, so it never shows what the API would refuse.
"""
