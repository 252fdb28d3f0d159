"""The one form → service → answer path (core.submit): an invalid form calls nothing, a
refusal shows by its field, a service's 403 stays a 403, and the outcome is said once."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.messages import get_messages
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.test import RequestFactory, SimpleTestCase

from unstuck.core.errors import Conflict, NotAllowed, UnstuckError
from unstuck.core.submit import posted_next, submit_and_redirect, submit_page


class NoteForm(forms.Form):
    title = forms.CharField(max_length=20)
    body = forms.CharField(required=False)


class Service:
    """Stands in for a service: records its calls, answers or refuses as told."""

    def __init__(self, refuse: UnstuckError | None = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.refuse = refuse

    def __call__(self, data: dict[str, Any]) -> str:
        self.calls.append(data)
        if self.refuse is not None:
            raise self.refuse
        return str(data["title"]).upper()


def post(data: dict[str, str]) -> HttpRequest:
    request = RequestFactory().post("/w/acme/notes/", data)
    request._messages = CookieStorage(request)  # type: ignore[attr-defined]
    return request


def said(request: HttpRequest) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(request)]


class SubmitAndRedirectTests(SimpleTestCase):
    def answer(self, data: dict[str, str], service: Service) -> tuple[HttpRequest, Any]:
        request = post(data)
        response = submit_and_redirect(
            request,
            NoteForm(request.POST),
            service,
            done=lambda result: f"Saved {result}.",
            back="/w/acme/notes/",
        )
        return request, response

    def test_a_valid_form_calls_the_service_once_says_so_and_goes_back(self) -> None:
        service = Service()
        request, response = self.answer({"title": "pilot"}, service)
        self.assertEqual(service.calls, [{"title": "pilot", "body": ""}])
        self.assertEqual((response.status_code, response["Location"]), (302, "/w/acme/notes/"))
        self.assertEqual(said(request), [("success", "Saved PILOT.")])

    def test_an_invalid_form_calls_nothing_and_names_the_field(self) -> None:
        service = Service()
        request, response = self.answer({"title": "x" * 21}, service)
        self.assertEqual(service.calls, [])
        self.assertEqual(response.status_code, 302)
        ((level, text),) = said(request)
        self.assertEqual(level, "error")
        self.assertIn("title: Ensure this value has at most 20 characters", text)

    def test_a_refusal_of_who_may_is_a_403(self) -> None:
        service = Service(refuse=NotAllowed("Only leaders do this."))
        with self.assertRaisesMessage(PermissionDenied, "Only leaders do this."):
            self.answer({"title": "pilot"}, service)
        self.assertEqual(len(service.calls), 1)

    def test_another_refusal_is_said_and_goes_back(self) -> None:
        request, response = self.answer({"title": "pilot"}, Service(refuse=Conflict("Taken.")))
        self.assertEqual(response["Location"], "/w/acme/notes/")
        self.assertEqual(said(request), [("error", "Taken.")])

    def test_who_may_is_checked_before_the_form_is_read(self) -> None:
        def leaders_only() -> None:
            raise NotAllowed("Only leaders do this.")

        for data in ({"title": "pilot"}, {"title": ""}):  # valid or not: refused the same
            with self.subTest(data=data):
                request, service = post(data), Service()
                with self.assertRaises(PermissionDenied):
                    submit_and_redirect(
                        request,
                        NoteForm(request.POST),
                        service,
                        done="Saved.",
                        back="/",
                        check=leaders_only,
                    )
                self.assertEqual(service.calls, [])

    def test_without_a_form_the_service_is_called_with_nothing(self) -> None:
        request = post({})
        calls: list[dict[str, Any]] = []
        submit_and_redirect(request, None, calls.append, done="Done.", back="/")
        self.assertEqual((calls, said(request)), ([{}], [("success", "Done.")]))


class SubmitPageTests(SimpleTestCase):
    def answer(self, request: HttpRequest, service: Service) -> tuple[NoteForm, Any]:
        form = NoteForm(request.POST or None)
        response = submit_page(
            request, form, service, done="Saved.", then=lambda result: f"/notes/{result}/"
        )
        return form, response

    def test_a_get_renders_the_page_and_calls_nothing(self) -> None:
        service = Service()
        request = RequestFactory().get("/w/acme/notes/new/")
        _, response = self.answer(request, service)
        self.assertIsNone(response)
        self.assertEqual(service.calls, [])

    def test_success_redirects_to_the_result(self) -> None:
        request = post({"title": "pilot"})
        _, response = self.answer(request, Service())
        self.assertEqual(response["Location"], "/notes/PILOT/")
        self.assertEqual(said(request), [("success", "Saved.")])

    def test_an_invalid_form_calls_nothing_and_keeps_its_errors_for_the_page(self) -> None:
        service = Service()
        form, response = self.answer(post({"title": ""}), service)
        self.assertIsNone(response)
        self.assertEqual(service.calls, [])
        self.assertIn("title", form.errors)

    def test_the_services_refusal_shows_by_its_field(self) -> None:
        refusal = UnstuckError("That title is taken.", field="title")
        form, response = self.answer(post({"title": "pilot"}), Service(refuse=refusal))
        self.assertIsNone(response)
        self.assertEqual(form.errors["title"], ["That title is taken."])

    def test_a_refusal_of_who_may_is_a_403(self) -> None:
        with self.assertRaises(PermissionDenied):
            self.answer(post({"title": "pilot"}), Service(refuse=NotAllowed("No.")))

    def test_the_check_runs_only_when_something_is_posted(self) -> None:
        checked: list[str] = []
        request = RequestFactory().get("/w/acme/notes/new/")
        form = NoteForm(None)
        answer = submit_page(
            request, form, Service(), done=None, then="/", check=lambda: checked.append("x")
        )
        self.assertEqual((answer, checked), (None, []))


class PostedNextTests(SimpleTestCase):
    def test_only_a_path_on_this_site_is_followed(self) -> None:
        factory = RequestFactory()
        on_site = factory.post("/", {"next": "/w/acme/deals/3/"})
        off_site = factory.post("/", {"next": "https://evil.example/"})
        self.assertEqual(posted_next(on_site, "/fallback/"), "/w/acme/deals/3/")
        self.assertEqual(posted_next(off_site, "/fallback/"), "/fallback/")
