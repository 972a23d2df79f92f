-- Deploy shelf:lend_book to pg
-- requires: lend_book@v1.0, overdue

BEGIN;

CREATE OR REPLACE FUNCTION shelf.lend_book(p_book integer, p_member integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    v_loan integer;
BEGIN
    IF EXISTS (SELECT 1 FROM shelf.loans
                WHERE member_id = p_member AND returned IS NULL AND due_on < current_date) THEN
        RAISE EXCEPTION 'member % has overdue loans', p_member;
    END IF;
    IF (SELECT copies FROM shelf.books WHERE id = p_book)
       <= (SELECT count(*) FROM shelf.loans WHERE book_id = p_book AND returned IS NULL) THEN
        RAISE EXCEPTION 'no copy of book % is left to lend', p_book;
    END IF;
    INSERT INTO shelf.loans (book_id, member_id) VALUES (p_book, p_member)
    RETURNING id INTO v_loan;
    RETURN v_loan;
END;
$$;

COMMIT;
