-- Verify shelf:lend_book on pg: a member with an overdue loan is refused. The data
-- made here goes with the ROLLBACK.

BEGIN;

INSERT INTO shelf.authors (name) VALUES ('Verify Author');
INSERT INTO shelf.books (title, author_id, copies)
    SELECT 'Verify Book', id, 2 FROM shelf.authors WHERE name = 'Verify Author';
INSERT INTO shelf.members (name, email) VALUES ('Verify Member', 'verify@example.org');
INSERT INTO shelf.loans (book_id, member_id, lent_on, due_on)
    SELECT b.id, m.id, current_date - 30, current_date - 9
      FROM shelf.books b, shelf.members m
     WHERE b.title = 'Verify Book' AND m.email = 'verify@example.org';

DO $$
BEGIN
    PERFORM shelf.lend_book((SELECT id FROM shelf.books WHERE title = 'Verify Book'),
                            (SELECT id FROM shelf.members WHERE email = 'verify@example.org'));
    RAISE EXCEPTION 'lend_book lent to a member with an overdue loan';
EXCEPTION WHEN raise_exception THEN
    IF SQLERRM NOT LIKE 'member % has overdue loans' THEN
        RAISE;
    END IF;
END;
$$;

ROLLBACK;
