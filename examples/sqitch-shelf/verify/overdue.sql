-- Verify shelf:overdue on pg

BEGIN;

SELECT loan_id, member, title, due_on, days_late FROM shelf.overdue WHERE false;

ROLLBACK;
