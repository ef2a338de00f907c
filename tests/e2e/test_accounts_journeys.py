"""Sign-up, sign-in (password and emailed code), sign-out and password reset, as a person does them."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import User
from conftest import PASSWORD, make_user

from .conftest import DESKTOP, PHONE

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transactional_db")]

CODE = re.compile(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", re.M)


def code_from(mail) -> str:
    """The one-time code in an email allauth sent (``SKFD-RDBR``)."""
    found = CODE.search(mail.body)
    assert found, f"no code in the email:\n{mail.body}"
    return found.group(1)


def fill_password(page, password: str) -> None:
    page.get_by_label("Password", exact=True).fill(password)


def sign_in_with_password(page, login: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username or email").fill(login)
    fill_password(page, password)
    page.get_by_role("button", name="Sign In", exact=True).click()


def open_user_menu(page, display_name: str) -> None:
    # The menu is a <details>: its <summary> (the person's name) has no ARIA role to look up.
    page.get_by_role("complementary").get_by_text(display_name, exact=True).click()


def expect_home(page, first_name: str) -> None:
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome, {first_name}")


SIGNUP_WIDTHS = (("desktop", DESKTOP), ("phone", PHONE), ("390", {"width": 390, "height": 844}))


def test_sign_up_verify_by_code_sign_out_and_in_again(page, shoot, mailoutbox):
    page.goto("/accounts/signup/")
    shoot(page, "signup", widths=SIGNUP_WIDTHS)
    page.get_by_label("Email").fill("ana@example.com")
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Display name").fill("Ana")
    page.get_by_label("Last name").fill("Lima")
    fill_password(page, "a sturdy passphrase 9")
    page.get_by_label("Password (again)").fill("a sturdy passphrase 9")
    page.get_by_role("button", name="Sign up").click()

    expect(page.get_by_role("heading", name="Enter email verification code")).to_be_visible()
    shoot(page, "signup-verify-code")
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["ana@example.com"]
    page.get_by_label("Code").fill(code_from(mailoutbox[0]))
    page.get_by_role("button", name="Confirm").click()

    expect_home(page, "Ana")
    shoot(page, "home")
    user = User.objects.get(username="ana")
    assert (user.first_name, user.last_name, user.email) == ("Ana", "Lima", "ana@example.com")

    # On a phone the home page is the conversation list (tests/e2e/test_phone_layout.py); on the
    # other pages the list is a drawer behind the ☰ button.
    page.goto("/people/")
    page.set_viewport_size(PHONE)
    toggle = page.get_by_role("button", name="Show conversations")
    sidebar = page.get_by_role("complementary", name="Conversations and menu")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(sidebar).not_to_be_in_viewport()
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(sidebar).to_be_in_viewport(ratio=1)
    page.screenshot(path=shoot.dir / "drawer-open-phone.png")
    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_be_focused()
    page.screenshot(path=shoot.dir / "drawer-toggle-focus-phone.png")
    expect(sidebar).to_be_hidden()  # closed, it is out of the tab order too
    toggle.click()
    page.get_by_role("button", name="Hide conversations").click()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    page.mouse.click(PHONE["width"] - 10, PHONE["height"] // 2)  # the dimmed page beside the drawer
    expect(toggle).to_have_attribute("aria-expanded", "false")
    page.set_viewport_size(DESKTOP)

    open_user_menu(page, "Ana Lima")
    page.screenshot(path=shoot.dir / "home-user-menu-desktop.png")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign In", exact=True)).to_be_visible()
    shoot(page, "login-after-sign-out")
    page.goto("/")  # signed out for real: the app sends them back to sign in
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))

    sign_in_with_password(page, "ana", "a sturdy passphrase 9")
    expect_home(page, "Ana")


def test_wrong_password_shows_the_error(page, shoot):
    make_user("bea", first_name="Bea")
    sign_in_with_password(page, "bea", "not my password")
    expect(page.get_by_role("alert")).to_contain_text("username and/or password you specified are not correct")
    expect(page.get_by_label("Username or email")).to_have_value("bea")
    shoot(page, "login-wrong-password")
    # Keyboard users see where they are.
    page.get_by_label("Username or email").focus()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password", exact=True)).to_be_focused()
    page.screenshot(path=shoot.dir / "login-focus-desktop.png")

    fill_password(page, PASSWORD)
    page.get_by_role("button", name="Sign In", exact=True).click()
    expect_home(page, "Bea")


def test_sign_in_by_emailed_code(page, shoot, mailoutbox):
    make_user("cai", first_name="Cai")
    page.goto("/accounts/login/")
    shoot(page, "login")
    page.get_by_role("link", name="Send me a sign-in code").click()
    expect(page.get_by_role("heading", name="Send me a sign-in code")).to_be_visible()
    shoot(page, "login-code-request")
    page.get_by_label("Email").fill("cai@example.com")
    page.get_by_role("button", name="Request code").click()

    expect(page.get_by_role("heading", name="Enter sign-in code")).to_be_visible()
    shoot(page, "login-code-enter")
    assert len(mailoutbox) == 1
    page.get_by_label("Code").fill("AAAA-AAAA")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("alert")).to_be_visible()
    shoot(page, "login-code-wrong")
    page.get_by_label("Code").fill(code_from(mailoutbox[0]))
    page.get_by_role("button", name="Confirm").click()
    expect_home(page, "Cai")


def test_reset_password_by_code_then_sign_in_with_the_new_one(page, shoot, mailoutbox):
    make_user("dev", first_name="Dev")
    page.goto("/accounts/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", name="Password reset")).to_be_visible()
    shoot(page, "password-reset")
    page.get_by_label("Email").fill("dev@example.com")
    page.get_by_role("button", name="Reset my password").click()

    expect(page.get_by_role("heading", name="Enter password reset code")).to_be_visible()
    shoot(page, "password-reset-code")
    assert len(mailoutbox) == 1
    page.get_by_label("Code").fill(code_from(mailoutbox[0]))
    page.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("heading", name="Change password")).to_be_visible()
    shoot(page, "password-reset-new")
    page.get_by_label("New Password", exact=True).fill("another sturdy phrase 7")
    page.get_by_label("New Password (again)").fill("another sturdy phrase 7")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Your password is now changed.")).to_be_visible()
    shoot(page, "password-reset-done")
    page.get_by_role("link", name="Sign In").click()
    expect(page.get_by_role("heading", name="Sign In")).to_be_visible()

    sign_in_with_password(page, "dev", PASSWORD)
    expect(page.get_by_role("alert")).to_be_visible()
    sign_in_with_password(page, "dev", "another sturdy phrase 7")
    expect_home(page, "Dev")


def test_dark_mode_pages(new_page, shoot):
    """One pass in dark mode over the entrance pages (with errors showing) and the app shell."""
    make_user("eve", first_name="Eve", last_name="Evans", about="Night owl.")
    page = new_page(color_scheme="dark")
    page.goto("/accounts/signup/")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("alert").first).to_be_visible()
    shoot(page, "signup-errors")
    sign_in_with_password(page, "eve", "wrong password")
    expect(page.get_by_role("alert")).to_be_visible()
    shoot(page, "login-wrong-password")
    sign_in_with_password(page, "eve", PASSWORD)
    expect_home(page, "Eve")
    shoot(page, "home")
    open_user_menu(page, "Eve Evans")
    page.get_by_role("link", name="My profile").click()
    expect(page.get_by_role("heading", name="Eve Evans")).to_be_visible()
    shoot(page, "profile")
    page.goto("/settings/profile/")
    shoot(page, "profile-edit")


def test_sign_up_asks_only_for_a_display_name_and_keeps_what_was_typed(page, shoot, mailoutbox):
    """Required fields are marked, the last name is optional, and an error wipes nothing typed."""
    make_user("taken")
    page.goto("/accounts/signup/")
    expect(page.get_by_text("Fields marked * are required.")).to_be_visible()
    for label in ("Email", "Username", "Display name"):
        expect(page.get_by_label(label)).to_have_attribute("required", "")
    expect(page.get_by_label("Password", exact=True)).to_have_attribute("required", "")
    last_name = page.get_by_label("Last name (optional)")
    expect(last_name).not_to_have_attribute("required", "")

    page.get_by_label("Email").fill("bea@example.com")
    page.get_by_label("Username").fill("taken")
    page.get_by_label("Display name").fill("Bea")
    fill_password(page, "a sturdy passphrase 9")
    page.get_by_label("Password (again)").fill("a sturdy passphrase 9")
    page.get_by_role("button", name="Sign up").click()

    # Only the taken username is refused; everything typed is still there, passwords included.
    expect(page.get_by_role("alert")).to_have_count(1)
    expect(page.get_by_role("alert")).to_contain_text("username")
    shoot(page, "signup-kept-values", widths=SIGNUP_WIDTHS)
    expect(page.get_by_label("Email")).to_have_value("bea@example.com")
    expect(page.get_by_label("Display name")).to_have_value("Bea")
    expect(page.get_by_label("Password", exact=True)).to_have_value("a sturdy passphrase 9")
    expect(page.get_by_label("Password (again)")).to_have_value("a sturdy passphrase 9")

    page.get_by_label("Username").fill("bea")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Enter email verification code")).to_be_visible()
    user = User.objects.get(username="bea")
    assert (user.first_name, user.last_name) == ("Bea", "")


def open_add_security_key(page) -> None:
    page.goto("/accounts/2fa/webauthn/add/")
    expect(page.get_by_role("heading", name="Confirm Access")).to_be_visible()  # allauth asks again
    fill_password(page, PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Add Security Key")).to_be_visible()


def test_passkey_page_says_why_security_keys_do_not_work_at_an_ip_address(new_page, live_url, shoot):
    """At 127.0.0.1 the browser refuses WebAuthn: the page says so instead of an Add that does nothing."""
    make_user("kim", first_name="Kim")
    page = new_page()
    sign_in_with_password(page, "kim", PASSWORD)
    expect_home(page, "Kim")
    open_add_security_key(page)
    add = page.get_by_role("button", name="Add", exact=True)
    expect(add).to_be_disabled()
    expect(add).to_have_accessible_description(re.compile("do not work at an IP address"))
    localhost = page.get_by_role("link", name="Open this page at localhost")
    expect(localhost).to_have_attribute("href", re.compile(r"^http://localhost:\d+/accounts/2fa/webauthn/add/$"))
    shoot(page, "passkey-add-at-ip-address")

    # At localhost (a secure context with a name) nothing is in the way.
    page = new_page(base_url=live_url.replace("127.0.0.1", "localhost"))
    sign_in_with_password(page, "kim", PASSWORD)
    expect_home(page, "Kim")
    open_add_security_key(page)
    expect(page.get_by_role("button", name="Add", exact=True)).to_be_enabled()
    expect(page.get_by_text("do not work at an IP address")).to_be_hidden()
