import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { ApiError } from '../errors/api-error';

/** Largest page any list returns. */
export const MAX_PAGE_SIZE = 100;
/** Page size when `limit` is not given (OpenAI's default). */
export const DEFAULT_PAGE_SIZE = 20;

/** `?after=&limit=` of every list route. */
export class ListQueryDto {
  @ApiPropertyOptional({ type: String, description: 'Cursor: the id of the last item of the previous page (its `last_id`).' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  after?: string;

  @ApiPropertyOptional({ type: Number, minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE, description: 'Items per page.' })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'must be an integer' })
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  limit?: number;
}

/** A page of a list, OpenAI style. */
export interface Page<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
  first_id: string | null;
  last_id: string | null;
}

/** Wraps items as a {@link Page}; `idOf` gives the cursor of an item. */
export function page<T>(data: T[], hasMore: boolean, idOf: (item: T) => string): Page<T> {
  return {
    object: 'list',
    data,
    has_more: hasMore,
    first_id: data.length ? idOf(data[0]!) : null,
    last_id: data.length ? idOf(data.at(-1)!) : null,
  };
}

/** The error of a cursor that is not an id of the list. */
export function invalidCursor(after: string): ApiError {
  return new ApiError(
    400,
    'invalid_cursor',
    `after=${JSON.stringify(after)} is not an id in this list; pass the last_id of a previous page, or omit it to start at the beginning`,
    'after',
  );
}

/** Schema of the list envelope for the OpenAPI document (items are typed per route). */
export class ListEnvelopeDto {
  @ApiProperty({ type: String, enum: ['list'] })
  object!: 'list';

  @ApiProperty({ type: Boolean, description: 'True when another page follows; pass `last_id` as `after` to get it.' })
  has_more!: boolean;

  @ApiProperty({ type: String, nullable: true })
  first_id!: string | null;

  @ApiProperty({ type: String, nullable: true })
  last_id!: string | null;
}
