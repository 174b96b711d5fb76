from django.db.models import QuerySet

from lifecycle.models import DataExport


def data_export_list() -> QuerySet[DataExport]:
    """The organization's exports, newest first: the last twenty."""
    return DataExport.objects.select_related("requested_by")[:20]
