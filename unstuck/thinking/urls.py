from django.urls import path

from unstuck.thinking import views

app_name = "thinking"
urlpatterns = [
    path("check/", views.check, name="check"),
    path("check/dismiss/", views.draft_flag_dismiss, name="check-dismiss"),
    path("flags/", views.flags, name="flags"),
    path("flags/<int:pk>/dismiss/", views.flag_dismiss, name="flag-dismiss"),
    path("questions/", views.questions, name="questions"),
    path("questions/<int:pk>/edit/", views.question_edit, name="question-edit"),
    path("deals/<int:pk>/note/", views.deal_note, name="deal-note"),
    path("training/", views.training, name="training"),
    path("training/quiz/", views.quiz, name="quiz"),
    path("training/<str:bias>/", views.lesson, name="lesson"),
]
