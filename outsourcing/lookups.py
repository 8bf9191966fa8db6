"""``field__any_of=ids``: membership in a long list of ids as one parameter.

The watcher reads and writes its chunks of a thousand engagements by id. With ``__in`` each
id is a placeholder, ``IN (%s, %s, …)``, and psycopg splits the thousand placeholders out of
the SQL text again on every execution (~20 % of a steady-sweep chunk's time went there). On
PostgreSQL ``any_of`` sends the ids as one array, ``= ANY(%s)``; elsewhere it is ``IN``.
"""

from django.core.exceptions import EmptyResultSet
from django.db.models import Field, ForeignObject, Lookup


class AnyOf(Lookup):
    lookup_name = "any_of"
    prepare_rhs = False

    def get_prep_lookup(self):
        return [self.lhs.output_field.get_prep_value(value) for value in self.rhs]

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = list(self.rhs)
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", (*lhs_params, values)
        if not values:
            raise EmptyResultSet
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", (*lhs_params, *values)


def register() -> None:
    Field.register_lookup(AnyOf)
    ForeignObject.register_lookup(AnyOf)  # relations keep lookups of their own
