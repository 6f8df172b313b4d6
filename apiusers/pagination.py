from django.core.paginator import Paginator
from rest_framework import pagination
from rest_framework.response import Response

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100


class PageFirstPaginator(Paginator):
    """Django's paginator, which finds the page's rows before reading them: the ordered,
    sliced ids are a subquery that an index answers alone, so a deep page skips its offset over
    index entries, and what each row costs to show (joins, the key's subquery) is paid for the
    rows of the page only."""

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        rows = self.object_list.filter(pk__in=self.object_list.values("pk")[bottom:top])
        return self._get_page(rows, number, self)


class PageNumberPagination(pagination.PageNumberPagination):
    """Probely's envelope: `{count, page_total, page, length, results}`, sized by `length`.

    `length` defaults to 10 and is capped at 100; a value that is not a positive integer falls
    back to the default. A page past the last one is a 404 ("Invalid page.").
    """

    django_paginator_class = PageFirstPaginator
    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "length"
    max_page_size = MAX_PAGE_SIZE
    page_size_query_description = (
        f"Number of results per page: {DEFAULT_PAGE_SIZE} by default, at most {MAX_PAGE_SIZE} "
        f"(a larger number gives pages of {MAX_PAGE_SIZE}). A value that is not a positive "
        "integer (`0`, `-1`, `abc`, `null`, or empty) means the default."
    )
    page_query_description = (
        "Number of the page, from 1 (`last` for the last page); 1 when empty. A page past the "
        "last one, or a value that is not a positive integer, is a 404 (`Invalid page.`)."
    )

    def get_schema_operation_parameters(self, view):
        """The parameters with what they accept: `length` takes anything (what is not a positive
        integer means the default, as the description says), an empty value means the default
        for both."""
        page, length = super().get_schema_operation_parameters(view)
        page["schema"].update(minimum=1, default=1)
        # No `type`: the server takes any value here, as the description says.
        length["schema"] = {"default": DEFAULT_PAGE_SIZE}
        for parameter in (page, length):
            parameter["allowEmptyValue"] = True
        return [page, length]

    def get_paginated_response(self, data):
        return Response(
            {
                "count": self.page.paginator.count,
                "page_total": self.page.paginator.num_pages,
                "page": self.page.number,
                "length": self.page.paginator.per_page,
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["count", "page_total", "page", "length", "results"],
            "properties": {
                "count": {
                    "type": "integer",
                    "description": "Total number of results.",
                    "example": 6,
                },
                "page_total": {
                    "type": "integer",
                    "description": "Total number of pages.",
                    "example": 1,
                },
                "page": {
                    "type": "integer",
                    "description": "Number of this page; the first page is 1.",
                    "example": 1,
                },
                "length": {
                    "type": "integer",
                    "description": "Number of results per page.",
                    "example": DEFAULT_PAGE_SIZE,
                },
                "results": {**schema, "description": "The results of this page."},
            },
        }
