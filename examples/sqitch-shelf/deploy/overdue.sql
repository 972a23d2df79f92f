-- Deploy shelf:overdue to pg

BEGIN;

CREATE VIEW shelf.overdue AS
    SELECT l.id AS loan_id, m.name AS member, b.title, l.due_on,
           current_date - l.due_on AS days_late
      FROM shelf.loans l
      JOIN shelf.members m ON m.id = l.member_id
      JOIN shelf.books b ON b.id = l.book_id
     WHERE l.returned IS NULL AND l.due_on < current_date;

COMMIT;
