"""`python -m devtools.invite_admin [NAME]`: prints a one-time code that makes whoever claims it
(POST /staff/invites/claim, signed in with WeChat) a brand admin. This is how a new brand's
first admin is made; later admins and staff are invited through the admin API."""
import sys


def main(argv):
    from chalicelib.members.staff import ADMIN, invite

    invitation = invite(ADMIN, None, argv[0] if argv else None, admin_id="bootstrap")
    print(f"admin invite code: {invitation['code']} (valid until {invitation['expires_at']})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
