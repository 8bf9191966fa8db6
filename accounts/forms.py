import zoneinfo

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm

from outsourcing.forms import Form, InputLimits, ModelForm

from .models import Organization, Role, TokenScope, User


class EmailAuthenticationForm(InputLimits, AuthenticationForm):
    username = forms.EmailField(
        label="E-mail", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )
    error_messages = {
        # Says nothing about which of the two was wrong, or whether the account exists.
        "invalid_login": "That e-mail and password do not match an account.",
        "inactive": "That e-mail and password do not match an account.",
    }


class InviteForm(Form):
    email = forms.EmailField(label="E-mail")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)


class RoleForm(Form):
    role = forms.ChoiceField(choices=Role.choices)


class RegisterForm(Form):
    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150, required=False)
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def __init__(self, *args, email: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.email = email

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        password_validation.validate_password(
            password, User(email=self.email, first_name=self.data.get("first_name", ""))
        )
        return password


TIME_ZONE_CHOICES = [(name, name) for name in sorted(zoneinfo.available_timezones())]


class OrganizationForm(ModelForm):
    time_zone = forms.ChoiceField(choices=TIME_ZONE_CHOICES)

    class Meta:
        model = Organization
        fields = ["name", "time_zone", "currency", "locale"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["locale"].required = False  # left out: the organization keeps its own

    def clean_locale(self) -> str:
        return self.cleaned_data.get("locale") or self.instance.locale


class ApiTokenForm(Form):
    name = forms.CharField(max_length=100, help_text="What it is for, e.g. “CRM sync”.")
    scope = forms.ChoiceField(choices=TokenScope.choices, initial=TokenScope.READ)
