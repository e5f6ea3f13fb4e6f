"""A PostgreSQL backend that starts the embedded server on the first connection.

In every other respect it is the project's postgresql backend (``gateway.db.postgresql``: Django's,
psycopg 3, connection pool, OPTIONS).
The database settings carry two extra keys: ``EMBEDDED_DATA_DIR`` (the server's data folder) and
``EMBEDDED_DATABASE`` (the development database the server must contain).
"""

from gateway.db.postgresql import base
from gateway.embedded import ensure_server, socket_params


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self):
        # The test runner swaps NAME for the test database and creates that itself, so the server
        # is asked only to guarantee the development database.
        server = ensure_server(self.settings_dict["EMBEDDED_DATA_DIR"], self.settings_dict["EMBEDDED_DATABASE"])
        params = super().get_connection_params()
        params.update(socket_params(server))
        return params
