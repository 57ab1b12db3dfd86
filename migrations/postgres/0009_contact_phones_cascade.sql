-- Contact imports write up to 10,000 phone rows per chunk, and the foreign key from
-- contact_phones to contacts checked each one with a query of its own: 43% of the server's
-- time in an import (measured by `import-bench`). Only the store writes contact_phones,
-- always for contacts it has just inserted in the same transaction, so the check protects
-- nothing there. What the key also did — phones go with their contact — is kept by a
-- statement-level trigger: one DELETE per statement, however many contacts it removed
-- (including contacts removed by their list's ON DELETE CASCADE).
ALTER TABLE contact_phones DROP CONSTRAINT contact_phones_contact_id_fkey;

CREATE FUNCTION contact_phones_follow_contacts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM contact_phones p USING removed r WHERE p.contact_id = r.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER contacts_removed_take_their_phones
    AFTER DELETE ON contacts
    REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION contact_phones_follow_contacts();
